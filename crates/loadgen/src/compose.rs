//! Planned messages as bytes: what a registrar sends over SMTP, and what
//! Postfix leaves in the mailbox.
//!
//! Header order, top down, as Postfix writes it into the mailbox:
//! local(8)'s `Return-Path`, `X-Original-To` and `Delivered-To`; our
//! server's `Received` (the trusted one, with the long queue ID); the
//! registrar's server's `Received`; sometimes a forged one claiming our
//! server's name; `X-Loadgen-Index`; then the letter's own headers.

use std::fmt::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::encode::{self, Charset, WordEncoding};
use crate::names::{Lang, Mailer, Registrar};
use crate::plan::{
    self, Landrush, Layout, Letter, Message, Role, SubjectStyle, Transfer,
};
use crate::queue_id;

/// Our server's time zone: Paris in May.
const LOCAL_ZONE_MIN: i32 = 120;
const LOCAL_ZONE_NAME: &str = "CEST";

impl Landrush {
    /// The message as the registrar's server hands it to ours: no
    /// trusted Received header, no local(8) headers, `\n` line ends.
    pub fn sent(&self, m: &Message) -> Vec<u8> {
        let l = self.letter(m);
        let mut rng =
            plan::stream(self.options.seed, plan::S_DELIVERY_EACH + m.index);
        let mut out = self.relay_headers(&mut rng, m, l).into_bytes();
        out.extend_from_slice(&self.letter_bytes(l));
        if l.role == Role::Cut {
            cut_in_header(&mut out);
        }
        out
    }

    /// The message as Postfix delivered it into the mailbox (without the
    /// mbox From_ line and quoting), in the sender's line endings.
    pub fn delivered(&self, m: &Message) -> Vec<u8> {
        let l = self.letter(m);
        let r = self.registrar(l);
        let mut rng =
            plan::stream(self.options.seed, plan::S_DELIVERY_EACH + m.index);
        let rcpt = &self.options.rcpt;
        let mut head = format!(
            "Return-Path: <{}>\nX-Original-To: {rcpt}\nDelivered-To: {rcpt}\n",
            l.sender
        );
        let secs = m.arrival_us.div_euclid(1_000_000);
        let usecs = m.arrival_us.rem_euclid(1_000_000) as u32;
        let inode = 100_000 + m.index * 13 + rng.gen_range(0..13);
        let ptr = if r.has_ptr {
            r.mail_host.as_str()
        } else {
            "unknown"
        };
        let _ = write!(
            head,
            "Received: from {} ({ptr} [{}])\n\tby {} (Postfix) with \
             ESMTP id {}\n\tfor <{rcpt}>; {}\n",
            r.mail_host,
            r.ip,
            self.options.trusted_host,
            queue_id::long_id(secs, usecs, inode),
            encode::postfix_date(secs, LOCAL_ZONE_MIN, LOCAL_ZONE_NAME)
        );
        head.push_str(&self.relay_headers(&mut rng, m, l));
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.letter_bytes(l));
        if l.crlf {
            out = to_crlf(&out);
        }
        if l.role == Role::Cut {
            cut_in_header(&mut out);
        }
        out
    }

    /// The envelope sender of a message; empty for the null sender.
    pub fn envelope_sender(&self, m: &Message) -> &str {
        &self.letter(m).sender
    }

    /// The From_ line local(8) writes before a message (global/mail_copy.c:
    /// `From sender  asctime`, MAILER-DAEMON for the null sender, local
    /// time of delivery), without its line end.
    pub fn from_line(&self, m: &Message) -> String {
        let sender = match self.envelope_sender(m) {
            "" => "MAILER-DAEMON",
            s => s,
        };
        let secs = m.delivery_us.div_euclid(1_000_000);
        format!("From {sender}  {}", encode::asctime(secs, LOCAL_ZONE_MIN))
    }

    /// The registrar's server's Received header, the forged one if any,
    /// and the index header.
    fn relay_headers(
        &self,
        rng: &mut ChaCha8Rng,
        m: &Message,
        l: &Letter,
    ) -> String {
        let r = self.registrar(l);
        let rcpt = &self.options.rcpt;
        let relayed_us = m.arrival_us - rng.gen_range(80_000..1_500_000);
        let secs = relayed_us.div_euclid(1_000_000) + r.skew;
        let usecs = relayed_us.rem_euclid(1_000_000) as u32;
        let pc = rng.gen_range(2..250);
        let lan = format!(
            "10.{}.{}.{pc}",
            rng.gen_range(0..8),
            rng.gen_range(0..250)
        );
        let mut out = match r.mailer {
            Mailer::OutlookExpress | Mailer::Robot => format!(
                "Received: from poste{pc} ([{lan}]) by {} with Microsoft \
                 SMTPSVC(5.0.2195.6713);\n\t {}\n",
                r.mail_host,
                encode::rfc5322_date(secs, r.zone_min)
            ),
            _ => format!(
                "Received: from poste{pc}.{dom} (poste{pc}.{dom} [{lan}])\n\
                 \tby {} (Postfix) with ESMTP id {}\n\tfor <{rcpt}>; {}\n",
                r.mail_host,
                queue_id::short_id(usecs, rng.gen_range(0x1000..0xfffff)),
                encode::postfix_date(secs, r.zone_min, zone_name(r.zone_min)),
                dom = r.domain,
            ),
        };
        if l.forged_received {
            // Someone hoping to be served first: our server's name, an
            // hour before the opening. It is below the real header.
            let early = self.options.start_us.div_euclid(1_000_000) - 3600;
            let _ = write!(
                out,
                "Received: from localhost (localhost [127.0.0.1])\n\tby {} \
                 (Postfix) with ESMTP id {}\n\tfor <{rcpt}>; {}\n",
                self.options.trusted_host,
                queue_id::long_id(early, 1, 4242),
                encode::postfix_date(early, LOCAL_ZONE_MIN, LOCAL_ZONE_NAME)
            );
        }
        let _ = writeln!(out, "X-Loadgen-Index: {}", m.index);
        out
    }

    /// The letter's own headers and body, `\n` line ends.
    pub fn letter_bytes(&self, l: &Letter) -> Vec<u8> {
        let r = self.registrar(l);
        let mut rng = plan::stream(self.options.seed, l.seed);
        let mut w = Writer::default();
        if let Some(id) = &l.message_id {
            w.line(&format!("Message-ID: <{id}>"));
        }
        w.line(&format!(
            "Date: {}",
            encode::rfc5322_date(l.date_secs, r.zone_min)
        ));
        w.line(&format!("From: {}", from_header(&mut rng, l, r)));
        let to = if rng.gen_bool(0.5) {
            format!("Registre .fr <{}>", self.options.rcpt)
        } else {
            self.options.rcpt.clone()
        };
        w.line(&format!("To: {to}"));
        subject_header(&mut w, l);
        match l.role {
            Role::Bounce => bounce(&mut w, &mut rng, l, r, &self.options.rcpt),
            Role::Vacation => vacation(&mut w, &mut rng, l, r),
            Role::AutoGenerated => auto_generated(&mut w, &mut rng, l, r),
            _ => request(&mut w, &mut rng, l, r),
        }
        w.bytes
    }
}

fn zone_name(min: i32) -> &'static str {
    match min {
        120 => "CEST",
        60 => "CET",
        -240 => "EDT",
        _ => "UTC",
    }
}

/// Cut a message off inside its Content-Type header line, with no line
/// end: a mailbox that ends in the middle of a delivery.
fn cut_in_header(bytes: &mut Vec<u8>) {
    let needle = b"\nContent-Type: ";
    if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
        bytes.truncate((at + needle.len() + 6).min(bytes.len()));
    }
}

/// `\n` line ends to `\r\n`.
pub fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 30);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn line(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
        self.bytes.push(b'\n');
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    fn text(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
    }
}

/// The charset header text is encoded in: the letter's, if it can.
fn header_charset(l: &Letter) -> Charset {
    match l.charset {
        Charset::Ascii => Charset::Utf8,
        c => c,
    }
}

fn phrase(text: &str, l: &Letter) -> String {
    if text.is_ascii() {
        format!("\"{text}\"")
    } else {
        encode::encoded_words(text, header_charset(l), WordEncoding::Q)
            .join(" ")
    }
}

fn from_header(rng: &mut ChaCha8Rng, l: &Letter, r: &Registrar) -> String {
    match l.role {
        Role::Bounce => format!("{} (Mail Delivery System)", l.from),
        Role::AutoGenerated => {
            format!("{} <{}>", phrase("Robot de dépôt", l), l.from)
        }
        _ => match rng.gen_range(0..10) {
            0 => l.from.clone(),
            1 => format!("{} <{}>", phrase(&r.company, l), l.from),
            _ => format!("{} <{}>", phrase(&r.person, l), l.from),
        },
    }
}

fn subject_header(w: &mut Writer, l: &Letter) {
    let s = &l.subject;
    let cs = header_charset(l);
    match l.subject_style {
        SubjectStyle::Plain | SubjectStyle::Folded => {
            w.text(&encode::fold_header("Subject", s));
        }
        SubjectStyle::Q => {
            let words = encode::encoded_words(s, cs, WordEncoding::Q);
            w.text(&encode::header_of_words("Subject", &words));
        }
        SubjectStyle::B => {
            let words = encode::encoded_words(s, cs, WordEncoding::B);
            w.text(&encode::header_of_words("Subject", &words));
        }
        SubjectStyle::Split => {
            let (words, _) = encode::byte_chunk_words(s, 21);
            w.text(&encode::header_of_words("Subject", &words));
        }
        SubjectStyle::Mixed => {
            w.text(&encode::fold_header("Subject", &mixed_words(s, cs)));
        }
        SubjectStyle::Raw => {
            let cs = match l.charset {
                Charset::Utf8 => Charset::Utf8,
                _ => Charset::Latin1,
            };
            w.text("Subject: ");
            w.raw(&cs.encode(s));
            w.text("\n");
        }
    }
}

/// Plain words left alone; each run of words needing it encoded whole.
fn mixed_words(text: &str, cs: Charset) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, parts: &mut Vec<String>| {
        if !run.is_empty() {
            let words =
                encode::encoded_words(&run.join(" "), cs, WordEncoding::Q);
            parts.push(words.join(" "));
            run.clear();
        }
    };
    for word in text.split(' ') {
        if word.is_ascii() {
            flush(&mut run, &mut parts);
            parts.push(word.to_string());
        } else {
            run.push(word);
        }
    }
    flush(&mut run, &mut parts);
    parts.join(" ")
}

// -------------------------------------------------------------- requests

fn key(style: usize) -> &'static str {
    const KEYS: [&str; crate::names::KEY_STYLES] = [
        "domaine: ",
        "Domaine : ",
        "DOMAINE: ",
        "domaine:  ",
        "Domain : ",
        "domain: ",
        "Domaine: ",
    ];
    KEYS[style % KEYS.len()]
}

fn request(w: &mut Writer, rng: &mut ChaCha8Rng, l: &Letter, r: &Registrar) {
    let form = form_text(rng, l, r);
    let letter = letter_text(rng, l, r, &form);
    common_headers(w, l, r);
    match l.layout {
        Layout::Plain => {
            let flowed = r.mailer == Mailer::Thunderbird;
            single_part(w, l, "text/plain", flowed, &letter);
        }
        Layout::Alternative => {
            let b = boundary(rng, r);
            w.line("Content-Type: multipart/alternative;");
            w.line(&format!("\tboundary=\"{b}\""));
            w.line("");
            w.line("This is a multi-part message in MIME format.");
            w.line("");
            w.line(&format!("--{b}"));
            part(w, l, "text/plain", &letter, None);
            w.line(&format!("--{b}"));
            part(w, l, "text/html", &html(&letter), None);
            w.line(&format!("--{b}--"));
        }
        Layout::Attachment => {
            let b = boundary(rng, r);
            let name = plan::one(
                rng,
                &["demande.txt", "formulaire.txt", "request.txt"],
            );
            w.line("Content-Type: multipart/mixed;");
            w.line(&format!("\tboundary=\"{b}\""));
            w.line("");
            w.line("This is a multi-part message in MIME format.");
            w.line("");
            w.line(&format!("--{b}"));
            part(w, l, "text/plain", &note_text(l, r), None);
            w.line(&format!("--{b}"));
            part(w, l, "text/plain", &form, Some(name));
            w.line(&format!("--{b}--"));
        }
    }
}

fn common_headers(w: &mut Writer, l: &Letter, r: &Registrar) {
    w.text(r.mailer.header());
    if l.auto_submitted_no {
        w.line("Auto-Submitted: no");
    }
    w.line("MIME-Version: 1.0");
}

fn transfer_name(l: &Letter) -> &'static str {
    match (l.transfer, l.charset) {
        (Transfer::QuotedPrintable, _) => "quoted-printable",
        (Transfer::Base64, _) => "base64",
        (Transfer::Plain, Charset::Ascii) => "7bit",
        (Transfer::Plain, _) => "8bit",
    }
}

fn encoded_body(l: &Letter, text: &str) -> Vec<u8> {
    let bytes = l.charset.encode(text);
    match l.transfer {
        Transfer::Plain => bytes,
        Transfer::QuotedPrintable => {
            let mut qp = encode::quoted_printable(&bytes).into_bytes();
            if !qp.ends_with(b"\n") {
                qp.push(b'\n');
            }
            qp
        }
        // Text is base64-encoded in its canonical form, CRLF line ends.
        Transfer::Base64 => {
            encode::base64_lines(&to_crlf(&bytes)).into_bytes()
        }
    }
}

fn single_part(
    w: &mut Writer,
    l: &Letter,
    mime: &str,
    flowed: bool,
    text: &str,
) {
    let flowed = if flowed { "; format=flowed" } else { "" };
    w.line(&format!(
        "Content-Type: {mime}; charset={}{flowed}",
        l.charset.mime_name()
    ));
    w.line(&format!("Content-Transfer-Encoding: {}", transfer_name(l)));
    w.line("");
    w.raw(&encoded_body(l, text));
}

fn part(
    w: &mut Writer,
    l: &Letter,
    mime: &str,
    text: &str,
    file: Option<&str>,
) {
    w.line(&format!("Content-Type: {mime};"));
    match file {
        Some(f) => {
            w.line(&format!(
                "\tcharset=\"{}\"; name=\"{f}\"",
                l.charset.mime_name()
            ));
            w.line(&format!(
                "Content-Transfer-Encoding: {}",
                transfer_name(l)
            ));
            w.line(&format!(
                "Content-Disposition: attachment; filename=\"{f}\""
            ));
        }
        None => {
            w.line(&format!("\tcharset=\"{}\"", l.charset.mime_name()));
            w.line(&format!(
                "Content-Transfer-Encoding: {}",
                transfer_name(l)
            ));
        }
    }
    w.line("");
    w.raw(&encoded_body(l, text));
    w.line("");
}

fn boundary(rng: &mut ChaCha8Rng, r: &Registrar) -> String {
    match r.mailer {
        Mailer::OutlookExpress => format!(
            "----=_NextPart_000_{:04X}_01C43745.{:08X}",
            rng.gen_range(0..0x100u32),
            rng.gen::<u32>()
        ),
        Mailer::Thunderbird => {
            format!(
                "------------{:012}{:012}",
                rng.gen_range(0..1_000_000_000_000u64),
                rng.gen_range(0..1_000_000_000_000u64)
            )
        }
        _ => format!("=_{:016x}", rng.gen::<u64>()),
    }
}

/// The form: the domain lines, then the other fields.
fn form_text(rng: &mut ChaCha8Rng, l: &Letter, r: &Registrar) -> String {
    let mut form = String::new();
    let key = key(r.key_style);
    match l.role {
        Role::NoForm | Role::EmptyBody => return form,
        Role::EmptyDomain => {
            form.push_str(key.trim_end());
            form.push('\n');
        }
        _ => {
            for n in &l.names {
                let _ = writeln!(form, "{key}{}", n.written);
            }
        }
    }
    let holder = crate::names::holder(rng);
    let contact = if rng.gen_bool(0.5) {
        format!("hostmaster@{}", r.domain)
    } else {
        r.address.clone()
    };
    let lang = if l.lang == Lang::En { "en" } else { "fr" };
    let _ = write!(
        form,
        "titulaire: {holder}\ncontact: {contact}\nlangue: {lang}\n"
    );
    if rng.gen_bool(0.2) {
        let _ = writeln!(
            form,
            "reference: {}-{}",
            r.domain.len(),
            rng.gen_range(100..999)
        );
    }
    form
}

const INTROS_FR: &[&str] = &[
    "Bonjour,\n\nVeuillez enregistrer le nom de domaine suivant pour le \
     compte de notre client.\n",
    "Madame, Monsieur,\n\nNous vous prions de bien vouloir enregistrer le \
     nom ci-dessous dès l'ouverture.\n",
    "Bonjour,\n\nVoici notre demande, déposée pour la période \
     d'ouverture.\n",
];

const INTROS_EN: &[&str] = &[
    "Hello,\n\nPlease register the following domain name for our \
     customer.\n",
    "Dear registry,\n\nHere is our request for the opening.\n",
];

/// The whole letter around the form.
fn letter_text(
    rng: &mut ChaCha8Rng,
    l: &Letter,
    r: &Registrar,
    form: &str,
) -> String {
    if l.role == Role::EmptyBody {
        return String::new();
    }
    let mut t = String::new();
    let fr = l.lang == Lang::Fr;
    let intro = match (fr, l.names.len() > 1) {
        (true, false) => plan::one(rng, INTROS_FR),
        (true, true) => {
            "Bonjour,\n\nVeuillez enregistrer les noms de domaine \
             suivants, dans cet ordre.\n"
        }
        (false, false) => plan::one(rng, INTROS_EN),
        (false, true) => {
            "Hello,\n\nPlease register the following domain names, in \
             this order.\n"
        }
    };
    t.push_str(intro);
    if l.from_line {
        // After a blank line: the worst place for an mbox reader.
        let _ = write!(
            t,
            "\nFrom now on, please send acknowledgements to {}.\n",
            r.address
        );
    }
    t.push('\n');
    if l.role == Role::NoForm {
        t.push_str(if fr {
            "Le formulaire suit par courrier. Merci de nous rappeler \
             au 01 23 45 67 89.\n"
        } else {
            "The form follows by post. Please call us back.\n"
        });
    } else if l.layout == Layout::Attachment {
        t.push_str(if fr {
            "Le formulaire est joint.\n"
        } else {
            "The form is attached.\n"
        });
    } else {
        t.push_str(form);
    }
    t.push('\n');
    let closing = if fr {
        plan::one(
            rng,
            &[
                "Cordialement,\n\n-- \n",
                "Bien à vous,\n",
                "Salutations distinguées,\n",
            ],
        )
    } else {
        plan::one(rng, &["Best regards,\n\n-- \n", "Kind regards,\n"])
    };
    let _ = write!(t, "{closing}{}\n{}\n", r.person, r.company);
    if l.dot_line {
        t.push_str(".\n");
    }
    t
}

/// The short text beside an attached form.
fn note_text(l: &Letter, r: &Registrar) -> String {
    if l.lang == Lang::Fr {
        format!(
            "Bonjour,\n\nVeuillez trouver notre demande en pièce \
             jointe.\n\n{}\n",
            r.person
        )
    } else {
        format!(
            "Hello,\n\nPlease find our request attached.\n\n{}\n",
            r.person
        )
    }
}

fn html(text: &str) -> String {
    let mut out = String::from("<html><body>\n");
    for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        out.push_str("<p>");
        let lines: Vec<String> = para
            .lines()
            .map(|l| {
                l.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            })
            .collect();
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>\n");
    }
    out.push_str("</body></html>\n");
    out
}

// ------------------------------------------------------- automatic mail

fn bounce(
    w: &mut Writer,
    rng: &mut ChaCha8Rng,
    l: &Letter,
    r: &Registrar,
    rcpt: &str,
) {
    let qid = queue_id::short_id(
        rng.gen_range(0..1_000_000),
        rng.gen_range(0x1000..0xfffff),
    );
    let b = format!("{qid}.{}/{}", l.date_secs, r.mail_host);
    let lost = format!(
        "{}@{}",
        plan::one(rng, &["ancien", "jdupont", "compta"]),
        r.domain
    );
    if rng.gen_bool(0.5) {
        w.line("Auto-Submitted: auto-replied");
    }
    w.line("MIME-Version: 1.0");
    w.line("Content-Type: multipart/report; report-type=delivery-status;");
    w.line(&format!("\tboundary=\"{b}\""));
    w.line("Content-Transfer-Encoding: 7bit");
    w.line("");
    w.line("This is a MIME-encapsulated message.");
    w.line("");
    w.line(&format!("--{b}"));
    w.line("Content-Description: Notification");
    w.line("Content-Type: text/plain; charset=us-ascii");
    w.line("");
    w.text(&format!(
        "This is the mail system at host {}.\n\n\
         I'm sorry to have to inform you that your message could not\n\
         be delivered to one or more recipients. It's attached below.\n\n\
         \x20                  The mail system\n\n\
         <{lost}>: unknown user: \"{}\"\n\n",
        r.mail_host,
        lost.split('@').next().unwrap_or("")
    ));
    w.line(&format!("--{b}"));
    w.line("Content-Description: Delivery report");
    w.line("Content-Type: message/delivery-status");
    w.line("");
    w.text(&format!(
        "Reporting-MTA: dns; {}\nX-Postfix-Queue-ID: {qid}\n\n\
         Final-Recipient: rfc822; {lost}\nAction: failed\nStatus: 5.1.1\n\
         Diagnostic-Code: X-Postfix; unknown user: \"{}\"\n\n",
        r.mail_host,
        lost.split('@').next().unwrap_or("")
    ));
    w.line(&format!("--{b}"));
    w.line("Content-Description: Undelivered Message Headers");
    w.line("Content-Type: text/rfc822-headers");
    w.line("");
    w.text(&format!(
        "From: Registre .fr <{rcpt}>\nTo: {lost}\n\
         Subject: =?UTF-8?Q?Accus=C3=A9_de_r=C3=A9ception?=\n\
         Auto-Submitted: auto-replied\n\n"
    ));
    w.line(&format!("--{b}--"));
}

fn vacation(w: &mut Writer, rng: &mut ChaCha8Rng, l: &Letter, r: &Registrar) {
    w.line("Auto-Submitted: auto-replied");
    if rng.gen_bool(0.5) {
        w.line("X-Autoreply: yes");
    }
    w.line("MIME-Version: 1.0");
    let text = if l.lang == Lang::Fr {
        format!(
            "Bonjour,\n\nJe suis absent(e) du bureau jusqu'au lundi \
             17 mai 2004 inclus.\n\
             Pour toute urgence, écrivez à {}.\n\n{}\n",
            r.address, r.person
        )
    } else {
        format!(
            "I am out of the office until Monday 17 May 2004.\n\
             For urgent matters, write to {}.\n\n{}\n",
            r.address, r.person
        )
    };
    single_part(w, l, "text/plain", false, &text);
}

fn auto_generated(
    w: &mut Writer,
    rng: &mut ChaCha8Rng,
    l: &Letter,
    r: &Registrar,
) {
    w.line("Auto-Submitted: auto-generated");
    w.line("MIME-Version: 1.0");
    let text = format!(
        "Rapport automatique de {}\n\nDemandes envoyées ce jour : {}\n\
         Demandes en attente : {}\n",
        r.company,
        rng.gen_range(1..200),
        rng.gen_range(0..5)
    );
    single_part(w, l, "text/plain", false, &text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Options;

    #[test]
    fn mixed_subject_encodes_only_runs() {
        let s = mixed_words("Demande : café-sète.fr ok", Charset::Latin1);
        assert_eq!(s, "Demande : =?ISO-8859-1?Q?caf=E9-s=E8te=2Efr?= ok");
    }

    #[test]
    fn cut_stops_inside_content_type() {
        let mut m = b"From: a\nContent-Type: text/plain\n\nbody\n".to_vec();
        cut_in_header(&mut m);
        assert_eq!(m, b"From: a\nContent-Type: text/p");
    }

    #[test]
    fn delivered_starts_with_local_and_trusted_headers() {
        let lr = Landrush::plan(&Options {
            count: 50,
            ..Options::default()
        });
        let m = &lr.messages[0];
        let text = String::from_utf8_lossy(&lr.delivered(m)).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Return-Path: <"));
        assert!(lines[3].starts_with("Received: from "));
        assert!(lines[4].starts_with("\tby mx.landrush.example (Postfix)"));
        assert!(
            text.contains("X-Loadgen-Index: 1\n")
                || text.contains("X-Loadgen-Index: 1\r\n")
        );
        let sent = String::from_utf8_lossy(&lr.sent(m)).into_owned();
        assert!(!sent.contains("mx.landrush.example (Postfix)"));
    }
}
