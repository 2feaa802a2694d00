//! Invented registrars and the names they ask for.
//!
//! Everything is made up from small word lists: registrar companies live
//! under the reserved `.example` and `.test` top-level domains (RFC 2606)
//! and talk from documentation addresses (RFC 5737); the names asked for
//! are French-looking words under `.fr`, some with accents (IDN).

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::Rng;

use crate::encode::Charset;

pub const FIRST_NAMES: &[&str] = &[
    "Jean",
    "Marie",
    "François",
    "Hélène",
    "Amélie",
    "Gérard",
    "Stéphane",
    "Loïc",
    "Anaïs",
    "Noël",
    "Zoé",
    "Benoît",
    "Cécile",
    "Jérôme",
    "Thérèse",
    "Maëlle",
    "Pierre",
    "Sophie",
    "Luc",
    "Claire",
    "Henri",
    "Agnès",
    "Rémi",
    "Solène",
    "Yves",
    "Odile",
    "Bruno",
    "Élise",
    "Gaëtan",
    "Inès",
];

pub const SURNAMES: &[&str] = &[
    "Dupont",
    "Lefèvre",
    "Moreau",
    "Girard",
    "Bonnet",
    "Mercier",
    "Fontaine",
    "Chevalier",
    "Rousseau",
    "Leroy",
    "Faure",
    "Gauthier",
    "Perrin",
    "Robin",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chauvin",
    "Lemaître",
    "Bézier",
    "Barbier",
    "Lacroix",
    "Renaud",
    "Caron",
    "Aubert",
    "Marchand",
    "Brunet",
    "Picard",
    "Ménard",
    "Collin",
    "Vidal",
    "Giraud",
    "Meunier",
    "Leclerc",
    "Duval",
    "Joly",
    "Poirier",
    "Huet",
    "Lebœuf",
];

/// Company name patterns: `{}` is a surname.
const COMPANY_FORMS: &[&str] = &[
    "Domaines {} SARL",
    "{} Internet",
    "{} & Associés",
    "Hébergement {}",
    "{} Télécom SA",
    "Net {} SARL",
    "Registre {}",
    "{} Services en ligne",
    "Agence {}",
    "{} Informatique",
];

const MAILBOXES: &[&str] = &[
    "depot",
    "demandes",
    "registry",
    "noms",
    "hostmaster",
    "landrush",
    "enregistrement",
    "domaines",
];

/// Everyday words of French businesses, for the names asked for.
const TRADES: &[&str] = &[
    "boulangerie",
    "pharmacie",
    "garage",
    "hotel",
    "restaurant",
    "immobilier",
    "avocats",
    "fromagerie",
    "librairie",
    "fleuriste",
    "coiffure",
    "plomberie",
    "menuiserie",
    "vins",
    "patisserie",
    "auto-ecole",
    "opticien",
    "notaire",
    "cabinet",
    "camping",
    "gite",
    "chateau",
    "traiteur",
    "cave",
    "ferme",
    "atelier",
    "studio",
    "galerie",
    "brasserie",
    "charcuterie",
    "epicerie",
    "jardinerie",
    "taxi",
    "creche",
];

/// The same trades as their owners spell them, accents and all.
const TRADES_IDN: &[&str] = &[
    "café",
    "hôtel",
    "crêperie",
    "pâtisserie",
    "épicerie",
    "brûlerie",
    "forêt",
    "château",
    "théâtre",
    "fêtes",
    "gîte",
    "élevage",
    "vélos",
    "maïs",
    "noël",
    "cœur",
    "bœuf",
    "sœurs",
    "ça-va",
    "où-dîner",
];

const PLACES: &[&str] = &[
    "paris",
    "lyon",
    "marseille",
    "toulouse",
    "nantes",
    "lille",
    "bordeaux",
    "rennes",
    "nice",
    "brest",
    "dijon",
    "annecy",
    "colmar",
    "arles",
    "sete",
    "quimper",
    "vannes",
    "nimes",
    "rouen",
    "tours",
    "metz",
    "nancy",
    "pau",
    "bayonne",
    "chamonix",
    "cassis",
    "menton",
    "lorient",
    "albi",
    "auch",
    "de-la-gare",
    "du-lac",
    "du-port",
    "des-halles",
    "du-centre",
];

const PLACES_IDN: &[&str] = &[
    "sète",
    "nîmes",
    "orléans",
    "besançon",
    "périgueux",
    "évian",
    "gérardmer",
    "île-de-ré",
    "béziers",
    "clermont-ferrand",
    "épernay",
    "mâcon",
];

/// Short, wanted names: the ones several registrars ask for at the
/// opening.
pub const HOT_NAMES: &[&str] = &[
    "vin.fr",
    "hotel.fr",
    "immobilier.fr",
    "voyage.fr",
    "assurance.fr",
    "banque.fr",
    "emploi.fr",
    "musique.fr",
    "credit.fr",
    "auto.fr",
    "livres.fr",
    "sport.fr",
    "cinema.fr",
    "mode.fr",
    "sante.fr",
    "meteo.fr",
    "vacances.fr",
    "jeux.fr",
    "maison.fr",
    "cuisine.fr",
    "télé.fr",
    "café.fr",
    "fête.fr",
    "théâtre.fr",
];

/// How a registrar's mail program identifies itself, and what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mailer {
    OutlookExpress,
    Thunderbird,
    Eudora,
    Mutt,
    /// A registrar's own script: plain ASCII, terse.
    Robot,
}

impl Mailer {
    /// The header naming the program.
    pub fn header(self) -> &'static str {
        match self {
            Mailer::OutlookExpress => {
                "X-Mailer: Microsoft Outlook Express 6.00.2800.1158\n"
            }
            Mailer::Thunderbird => {
                "User-Agent: Mozilla Thunderbird 0.6 (Windows/20040502)\n"
            }
            Mailer::Eudora => {
                "X-Mailer: QUALCOMM Windows Eudora Version 6.1\n"
            }
            Mailer::Mutt => "User-Agent: Mutt/1.5.6i\n",
            Mailer::Robot => "X-Mailer: depot-auto/1.2\n",
        }
    }
}

/// The language of a registrar's letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

/// One registrar and its habits.
#[derive(Clone, Debug)]
pub struct Registrar {
    pub company: String,
    pub person: String,
    /// The registrar's own domain (`domaines-dupont.example`).
    pub domain: String,
    /// The address requests come from.
    pub address: String,
    /// Its outgoing mail server, and that server's address.
    pub mail_host: String,
    pub ip: String,
    /// False: our server found no name for its address (`unknown`).
    pub has_ptr: bool,
    pub mailer: Mailer,
    pub lang: Lang,
    /// The charset its mailer prefers.
    pub charset: Charset,
    /// Writes CRLF line endings all the way into the mailbox.
    pub crlf: bool,
    /// How it writes the domain key (index into the form's key styles).
    pub key_style: usize,
    /// Its clock's error, seconds, and its time zone, minutes east.
    pub skew: i64,
    pub zone_min: i32,
}

/// `count` registrars with distinct domains.
pub fn registrars<R: Rng>(rng: &mut R, count: usize) -> Vec<Registrar> {
    let mut taken = BTreeSet::new();
    (0..count).map(|i| registrar(rng, i, &mut taken)).collect()
}

fn registrar<R: Rng>(
    rng: &mut R,
    i: usize,
    taken: &mut BTreeSet<String>,
) -> Registrar {
    let surname = *SURNAMES.choose(rng).unwrap_or(&"Dupont");
    let first = *FIRST_NAMES.choose(rng).unwrap_or(&"Jean");
    let form = *COMPANY_FORMS.choose(rng).unwrap_or(&"{}");
    let company = form.replace("{}", surname);
    let tld = if rng.gen_bool(0.7) { "example" } else { "test" };
    let mut domain = format!("{}.{tld}", slug(&company));
    let mut n = 2;
    while !taken.insert(domain.clone()) {
        domain = format!("{}{n}.{tld}", slug(&company));
        n += 1;
    }
    let mailbox = *MAILBOXES.choose(rng).unwrap_or(&"depot");
    let mailer = match rng.gen_range(0..20) {
        0..=6 => Mailer::OutlookExpress,
        7..=11 => Mailer::Thunderbird,
        12..=13 => Mailer::Eudora,
        14..=15 => Mailer::Mutt,
        _ => Mailer::Robot,
    };
    let charset = match (mailer, rng.gen_range(0..10)) {
        (Mailer::Robot, _) => Charset::Ascii,
        (Mailer::OutlookExpress, 0..=5) => Charset::Windows1252,
        (_, 0..=4) => Charset::Latin1,
        _ => Charset::Utf8,
    };
    Registrar {
        person: format!("{first} {surname}"),
        address: format!("{mailbox}@{domain}"),
        mail_host: format!("mail.{domain}"),
        ip: documentation_ip(i),
        has_ptr: rng.gen_bool(0.85),
        mailer,
        lang: if rng.gen_bool(0.8) {
            Lang::Fr
        } else {
            Lang::En
        },
        charset,
        crlf: rng.gen_bool(0.05),
        key_style: rng.gen_range(0..KEY_STYLES),
        skew: match rng.gen_range(0..20) {
            0 => rng.gen_range(-7200..7200),
            1..=4 => rng.gen_range(-300..300),
            _ => rng.gen_range(-20..20),
        },
        zone_min: match rng.gen_range(0..20) {
            0 => 0,
            1 => -240,
            2 => 60,
            _ => 120,
        },
        company,
        domain,
    }
}

/// How many ways of writing the domain key there are (see compose).
pub const KEY_STYLES: usize = 7;

/// An address in the three documentation networks (RFC 5737).
fn documentation_ip(i: usize) -> String {
    const NETS: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];
    let i = i % (3 * 254);
    format!("{}.{}", NETS[i / 254], i % 254 + 1)
}

/// Lower-case ASCII letters, digits and single hyphens: accents
/// dropped, everything else a hyphen.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let piece = match c.to_lowercase().next().unwrap_or(c) {
            'à' | 'â' | 'ä' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' => "i",
            'ô' | 'ö' => "o",
            'ù' | 'û' | 'ü' => "u",
            'ç' => "c",
            'œ' => "oe",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        if piece != "-" {
            out.push_str(piece);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A name a business might ask for, under `.fr`: a trade and a place
/// or a person, in several shapes; with `idn`, with accents.
pub fn wanted_name<R: Rng>(rng: &mut R, idn: bool) -> String {
    let mut trade = if idn && rng.gen_bool(0.6) {
        pick(rng, TRADES_IDN)
    } else {
        pick(rng, TRADES)
    };
    let other = match rng.gen_range(0..10) {
        0..=4 if idn && rng.gen_bool(0.5) => pick(rng, PLACES_IDN),
        0..=4 => pick(rng, PLACES),
        5..=7 => label(pick(rng, SURNAMES), idn),
        _ => label(pick(rng, FIRST_NAMES), idn),
    };
    if idn && trade.is_ascii() && other.is_ascii() {
        trade = pick(rng, TRADES_IDN);
    }
    let name = match rng.gen_range(0..20) {
        0..=2 => format!("{trade}-{other}-{}", rng.gen_range(2..100)),
        3..=4 => format!("{other}-{trade}"),
        5 => format!("{trade}{other}"),
        _ => format!("{trade}-{other}"),
    };
    format!("{name}.fr")
}

fn pick<R: Rng>(rng: &mut R, list: &[&str]) -> String {
    list.choose(rng).copied().unwrap_or("x").to_string()
}

/// A proper name as a label: lower case, accents kept for an IDN.
fn label(name: String, idn: bool) -> String {
    if idn {
        name.to_lowercase().replace(' ', "-")
    } else {
        slug(&name)
    }
}

/// A person or company to hold a name.
pub fn holder<R: Rng>(rng: &mut R) -> String {
    let surname = SURNAMES.choose(rng).copied().unwrap_or("Dupont");
    match rng.gen_range(0..4) {
        0 => format!("SARL {surname} et Fils"),
        1 => format!("SCI Les Tilleuls {surname}"),
        2 => {
            let first = FIRST_NAMES.choose(rng).copied().unwrap_or("Jean");
            format!("{first} {surname}")
        }
        _ => format!("Établissements {surname}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn slugs() {
        assert_eq!(slug("Domaines Lefèvre SARL"), "domaines-lefevre-sarl");
        assert_eq!(slug("Lebœuf & Associés"), "leboeuf-associes");
        assert_eq!(slug("Hébergement Ménard"), "hebergement-menard");
    }

    #[test]
    fn registrar_domains_are_distinct() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let all = registrars(&mut rng, 900);
        let set: BTreeSet<&str> =
            all.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(set.len(), 900);
        assert!(all
            .iter()
            .all(|r| r.domain.ends_with(".example")
                || r.domain.ends_with(".test")));
    }
}
