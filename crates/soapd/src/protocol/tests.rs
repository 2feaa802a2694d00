use super::*;

const CT: &str = "text/xml; charset=utf-8";

const LITE_ENV: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soap:Envelope soap:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" \
xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soap:Body>";
const LITE_END: &str = "</soap:Body></soap:Envelope>";

fn lite(body: &str) -> String {
    format!("{LITE_ENV}{body}{LITE_END}")
}

fn read(doc: &str) -> Call {
    read_call(doc.as_bytes(), CT).unwrap()
}

fn value<'a>(call: &'a Call, names: &[&str], i: usize) -> Option<&'a str> {
    call.param(names, i).and_then(|p| p.value.as_deref())
}

const GET: [&str; 2] = ["max", "leaseSeconds"];
const COMPLETE: [&str; 4] = ["id", "leaseToken", "outcome", "comment"];

#[test]
fn soap_lite_positional() {
    let call = read(&lite(
        "<GetRequests xmlns=\"urn:Example\">\
         <c-gensym3 xsi:type=\"xsd:int\">10</c-gensym3>\
         <c-gensym5 xsi:type=\"xsd:int\">300</c-gensym5></GetRequests>",
    ));
    assert_eq!(call.op, "GetRequests");
    assert_eq!(call.op_ns.as_deref(), Some("urn:Example"));
    assert_eq!(call.style, Style::Encoded);
    assert_eq!(value(&call, &GET, 0), Some("10"));
    assert_eq!(value(&call, &GET, 1), Some("300"));
}

#[test]
fn soap_lite_named_and_base64() {
    let call = read(&lite(
        "<CompleteRequest xmlns=\"urn:Suzanne\">\
         <id xsi:type=\"xsd:long\">4294967297</id>\
         <leaseToken xsi:type=\"xsd:string\">007</leaseToken>\
         <outcome xsi:type=\"xsd:base64Binary\">YWNjZXB0w6kgPCY+IF1dPg==\
         </outcome></CompleteRequest>",
    ));
    assert_eq!(value(&call, &COMPLETE, 0), Some("4294967297"));
    assert_eq!(value(&call, &COMPLETE, 1), Some("007"));
    assert_eq!(value(&call, &COMPLETE, 2), Some("accepté <&> ]]>"));
    assert!(call.param(&COMPLETE, 3).is_none());
}

#[test]
fn base64_latin1_and_soap_enc_base64() {
    // SOAP::Lite 0.60: 1999 schema, SOAP-ENC:base64, Latin-1 bytes.
    let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<SOAP-ENV:Envelope SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" \
xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
xmlns:xsi=\"http://www.w3.org/1999/XMLSchema-instance\" \
xmlns:xsd=\"http://www.w3.org/1999/XMLSchema\"><SOAP-ENV:Body>\
<namesp1:CompleteRequest xmlns:namesp1=\"urn:Example\">\
<id xsi:type=\"xsd:long\">7</id><leaseToken xsi:type=\"xsd:string\">L-1</leaseToken>\
<outcome xsi:type=\"SOAP-ENC:base64\">Y2Fm6S5mcg==</outcome>\
<comment xsi:null=\"1\"/>\
</namesp1:CompleteRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    let call = read(doc);
    assert_eq!(call.style, Style::Encoded);
    assert_eq!(value(&call, &COMPLETE, 2), Some("café.fr"));
    assert_eq!(call.param(&COMPLETE, 3).unwrap().value, None);
}

#[test]
fn xsi_type_prefix_is_resolved() {
    // suds with an rpc WSDL: xsi:type="ns2:int"; "ns2:base64Binary"
    // must decode, a string typed with an unrelated prefix must not.
    let doc = "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xmlns:ns2=\"http://www.w3.org/2001/XMLSchema\" xmlns:t=\"urn:other\">\
<SOAP-ENV:Header/><SOAP-ENV:Body><ns0:CompleteRequest xmlns:ns0=\"urn:Suzanne\">\
<id xsi:type=\"ns2:int\">1</id><leaseToken xsi:type=\"t:base64Binary\">QUJD</leaseToken>\
<outcome xsi:type=\"ns2:base64Binary\">YWNjZXB0ZWQ=</outcome>\
</ns0:CompleteRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    let call = read(doc);
    assert_eq!(call.style, Style::Literal);
    assert_eq!(value(&call, &COMPLETE, 1), Some("QUJD"));
    assert_eq!(value(&call, &COMPLETE, 2), Some("accepted"));
}

#[test]
fn zeep_literal_and_suds_prefixes() {
    let zeep = "<?xml version='1.0' encoding='utf-8'?>\n\
<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
<soap-env:Body><ns0:GetRequests xmlns:ns0=\"urn:Suzanne\"><ns0:max>1</ns0:max>\
<ns0:leaseSeconds>300</ns0:leaseSeconds></ns0:GetRequests></soap-env:Body>\
</soap-env:Envelope>";
    let call = read(zeep);
    assert_eq!(call.style, Style::Literal);
    assert_eq!(value(&call, &GET, 1), Some("300"));
    let suds = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope \
xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:ns0=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns1=\"urn:Suzanne\">\
<SOAP-ENV:Header/><ns0:Body><ns1:GetRequests><ns1:max>1</ns1:max>\
<ns1:leaseSeconds>300</ns1:leaseSeconds></ns1:GetRequests></ns0:Body>\
</SOAP-ENV:Envelope>";
    let call = read(suds);
    assert_eq!(call.op, "GetRequests");
    assert_eq!(value(&call, &GET, 0), Some("1"));
}

#[test]
fn nil_operation_bom_and_text_kept_whole() {
    let doc = format!(
        "\u{FEFF}{}",
        lite("<QueueStatus xmlns=\"urn:Suzanne\" xsi:nil=\"true\" />")
    );
    let call = read(&doc);
    assert_eq!(call.op, "QueueStatus");
    assert!(call.params.is_empty());
    let call = read(&lite(
        "<HoldRequest><id>1</id><leaseToken>t</leaseToken>\
         <reason>  a &amp; <![CDATA[<b>]]>&#xd;\n c  </reason></HoldRequest>",
    ));
    let names = ["id", "leaseToken", "reason"];
    assert_eq!(value(&call, &names, 2), Some("  a & <b>\r\n c  "));
}

#[test]
fn encoding_style_on_body_or_operation() {
    let doc = "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">\
<e:Body><op:QueueStatus xmlns:op=\"urn:Suzanne\" \
e:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"/></e:Body></e:Envelope>";
    assert_eq!(read(doc).style, Style::Encoded);
}

#[test]
fn latin1_body() {
    let mut doc = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>".to_vec();
    doc.extend_from_slice(
        lite("<HoldRequest><reason>caf\u{e9}</reason></HoldRequest>")
            .split_once("?>")
            .unwrap()
            .1
            .replace('é', "\u{1}")
            .as_bytes(),
    );
    let pos = doc.iter().position(|&b| b == 1).unwrap();
    doc[pos] = 0xE9;
    let call = read_call(&doc, "text/xml; charset=iso-8859-1").unwrap();
    assert_eq!(call.params[0].value.as_deref(), Some("café"));
    let call = read_call(&doc, "text/xml").unwrap();
    assert_eq!(call.params[0].value.as_deref(), Some("café"));
}

#[test]
fn must_understand_header() {
    let doc = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
<s:Header><a:auth xmlns:a=\"urn:x\" s:mustUnderstand=\"1\">x</a:auth></s:Header>\
<s:Body><QueueStatus/></s:Body></s:Envelope>";
    let f = read_call(doc.as_bytes(), CT).unwrap_err();
    assert_eq!(f.code, FaultCode::MustUnderstand);
    let ignored = doc.replace(" s:mustUnderstand=\"1\"", "");
    assert_eq!(read(&ignored).op, "QueueStatus");
}

#[test]
fn refusals() {
    let cases: &[(&str, FaultCode)] = &[
        ("", FaultCode::Client),
        ("<not xml", FaultCode::Client),
        (
            // SOAP::Lite autotype(0) does not escape values.
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <s:Body><CompleteRequest><outcome>a <&> b</outcome>\
             </CompleteRequest></s:Body></s:Envelope>",
            FaultCode::Client,
        ),
        (
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">\
             <s:Body><QueueStatus/></s:Body></s:Envelope>",
            FaultCode::VersionMismatch,
        ),
        ("<a/>", FaultCode::Client),
        (
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <s:Body/></s:Envelope>",
            FaultCode::Client,
        ),
        (
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <s:Body><x>\u{1}</x></s:Body></s:Envelope>",
            FaultCode::Client,
        ),
    ];
    for (doc, code) in cases {
        let f = read_call(doc.as_bytes(), CT).unwrap_err();
        assert_eq!(f.code, *code, "{doc}");
    }
}

#[test]
fn billion_laughs_is_refused_at_once() {
    let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [");
    doc.push_str("<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]><lolz>&lol9;</lolz>");
    let t = std::time::Instant::now();
    let f = read_call(doc.as_bytes(), CT).unwrap_err();
    assert_eq!(f.code, FaultCode::Client);
    assert!(t.elapsed().as_secs() < 2);
}

#[test]
fn deep_nesting_is_refused() {
    let doc = lite(&format!(
        "<Op>{}{}</Op>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    ));
    assert!(read_call(doc.as_bytes(), CT).is_err());
}

#[test]
fn escaping() {
    assert_eq!(
        escape("a&b<c>d\"e\r\nf\u{1}g\u{FFFE}h\u{1F600}"),
        "a&amp;b&lt;c&gt;d&quot;e&#13;\nf\u{FFFD}g\u{FFFD}h\u{1F600}"
    );
}

fn sample() -> RequestOut {
    RequestOut {
        id: 4294967297,
        arrival: "2004-05-11T09:00:00.123456Z".into(),
        envelope_sender: "reg@example.fr".into(),
        from: "Stéphane <stephane@example.fr>".into(),
        message_id: "<1@example.fr>".into(),
        subject: "café & thé ]]>".into(),
        domains: vec!["café.fr".into(), "exemple.fr".into()],
        domains_ascii: vec!["xn--caf-dma.fr".into(), "exemple.fr".into()],
        form: vec![("domain".into(), "café.fr".into())],
        body: "Bonjour,\r\n\u{1}fin\r\n".into(),
        raw: b"Subject: x\r\n\r\nBonjour\x01\r\n".to_vec(),
        sha256: "00".repeat(32),
        state: "leased".into(),
        lease_token: "L1-abc".into(),
        lease_expires: Some("2004-05-11T09:05:00Z".into()),
        fields: Fields::ALL,
    }
}

/// Reads a written document back: well-formed, and the text of the
/// elements named `name`, in order.
fn texts(doc: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut text = String::new();
    for ev in ParserConfig::new()
        .cdata_to_characters(true)
        .create_reader(doc.as_bytes())
    {
        match ev.unwrap() {
            XmlEvent::StartElement { name: n, .. } if n.local_name == name => {
                inside = true;
                text.clear();
            }
            XmlEvent::Characters(s) if inside => text.push_str(&s),
            XmlEvent::EndElement { name: n } if n.local_name == name => {
                inside = false;
                out.push(text.clone());
            }
            _ => {}
        }
    }
    out
}

#[test]
fn answers_round_trip_in_both_styles() {
    let answer = Answer::Requests(vec![sample(), sample()]);
    for style in [Style::Encoded, Style::Literal] {
        let doc =
            write_answer("GetRequests", Some("urn:Example"), style, &answer);
        assert_eq!(texts(&doc, "body")[0], "Bonjour,\r\n\u{FFFD}fin\r\n");
        assert_eq!(texts(&doc, "subject")[1], "café & thé ]]>");
        assert_eq!(texts(&doc, "domain").len(), 8);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&texts(&doc, "raw")[0])
            .unwrap();
        assert_eq!(raw, sample().raw);
        let encoded = doc.contains("SOAP-ENC:arrayType=\"tns:Request[2]\"");
        assert_eq!(encoded, style == Style::Encoded);
        assert_eq!(doc.contains("xsi:type"), style == Style::Encoded);
    }
}

#[test]
fn literal_answer_shape() {
    let mut r = sample();
    r.lease_expires = None;
    r.form.clear();
    let doc = write_answer(
        "GetRequest",
        None,
        Style::Literal,
        &Answer::Request(Box::new(r.clone())),
    );
    assert!(doc.contains("<GetRequestResponse xmlns=\"urn:Suzanne\"><request><id>4294967297</id>"));
    assert!(doc.contains("<form></form>"));
    assert!(!doc.contains("leaseExpires"));
    let doc = write_answer(
        "GetRequest",
        Some("urn:Suzanne"),
        Style::Encoded,
        &Answer::Request(Box::new(r)),
    );
    assert!(doc.contains("<ns1:GetRequestResponse xmlns:ns1=\"urn:Suzanne\""));
    assert!(doc.contains(
        "<leaseExpires xsi:type=\"xsd:dateTime\" xsi:nil=\"true\"/>"
    ));
    assert!(doc.contains("SOAP-ENC:arrayType=\"tns:FormField[0]\""));
}

#[test]
fn fault_document() {
    let f = Fault::client("stale-lease", "lease <L1> is stale").with_ticket(7);
    let doc = write_fault(&f);
    assert_eq!(texts(&doc, "faultcode"), vec!["SOAP-ENV:Client"]);
    assert_eq!(texts(&doc, "faultstring"), vec!["lease <L1> is stale"]);
    assert_eq!(texts(&doc, "code"), vec!["stale-lease"]);
    assert_eq!(texts(&doc, "ticket"), vec!["7"]);
}

/// A struct's leaves: (name, value).
type Leaves = Vec<(String, Option<String>)>;

/// The items of a list parameter: (name, leaves).
fn items(p: &Param) -> Vec<(String, Leaves)> {
    p.children
        .iter()
        .map(|c| {
            let kids = c.children.iter();
            let kids = kids.map(|k| (k.name.clone(), k.value.clone()));
            (c.name.clone(), kids.collect())
        })
        .collect()
}

#[test]
fn soap_lite_array_of_structs() {
    // SOAP::Lite, positional: `->CompleteRequests(\@list)`; keys in
    // random order, a non-ASCII comment as base64.
    let call = read(&lite(
        "<CompleteRequests xmlns=\"urn:Suzanne\">\
         <soapenc:Array soapenc:arrayType=\"xsd:anyType[2]\" \
         xsi:type=\"soapenc:Array\">\
         <item><id xsi:type=\"xsd:int\">1</id>\
         <outcome xsi:type=\"xsd:string\">accepted</outcome>\
         <leaseToken xsi:type=\"xsd:string\">L1-a</leaseToken></item>\
         <item><leaseToken xsi:type=\"xsd:string\">L2-b</leaseToken>\
         <comment xsi:type=\"xsd:base64Binary\">ZMOpasOgIHByaXM=</comment>\
         <id xsi:type=\"xsd:int\">2</id>\
         <outcome xsi:type=\"xsd:string\">rejected</outcome></item>\
         </soapenc:Array></CompleteRequests>",
    ));
    assert_eq!(call.style, Style::Encoded);
    assert_eq!(call.params.len(), 1);
    let list = &call.params[0];
    assert!(list.complex);
    let got = items(list);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "item");
    assert_eq!(
        list.children[1].child("comment").unwrap().value.as_deref(),
        Some("déjà pris")
    );
    assert_eq!(
        list.children[1].child("id").unwrap().value.as_deref(),
        Some("2")
    );
}

#[test]
fn zeep_list_and_repeated_structs() {
    // zeep from the WSDL: completions/completion, qualified.
    let doc = "<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope \
        xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
        <soap-env:Body><ns0:CompleteRequests xmlns:ns0=\"urn:Suzanne\">\
        <ns0:completions><ns0:completion><ns0:id>7</ns0:id>\
        <ns0:leaseToken>L7</ns0:leaseToken><ns0:outcome>accepted\
        </ns0:outcome></ns0:completion>\n  <ns0:completion><ns0:id>8\
        </ns0:id><ns0:leaseToken>L8</ns0:leaseToken>\
        <ns0:outcome>rejected</ns0:outcome><ns0:comment> a &amp; b\
        </ns0:comment></ns0:completion></ns0:completions>\
        </ns0:CompleteRequests></soap-env:Body></soap-env:Envelope>";
    let call = read(doc);
    assert_eq!(call.style, Style::Literal);
    let got = items(&call.params[0]);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].0, "completion");
    assert_eq!(got[1].1[3], ("comment".into(), Some(" a & b".into())));
    // Text between the structs is layout, nothing else.
    assert_eq!(call.params[0].children.len(), 2);

    // SOAP::Lite autotype(0) with a list: repeated parameters.
    let call = read(&lite(
        "<CompleteRequests xmlns=\"urn:Suzanne\">\
         <completions><id>1</id><leaseToken>L1</leaseToken>\
         <outcome>accepted</outcome></completions>\
         <completions><id>2</id><leaseToken>L2</leaseToken>\
         <outcome>accepted</outcome></completions></CompleteRequests>",
    ));
    assert_eq!(call.params.len(), 2);
    assert_eq!(
        call.params[1].child("id").unwrap().value.as_deref(),
        Some("2")
    );
}

#[test]
fn completion_results_in_both_styles() {
    let answer = Answer::Results(vec![
        ItemResult {
            id: 4294967297,
            status: "completed",
        },
        ItemResult {
            id: 9,
            status: "stale-lease",
        },
    ]);
    let doc = write_answer(
        "CompleteRequests",
        Some("urn:Suzanne"),
        Style::Encoded,
        &answer,
    );
    assert!(doc.contains(
        "<return xsi:type=\"SOAP-ENC:Array\" \
         SOAP-ENC:arrayType=\"tns:CompletionResult[2]\">\
         <result xsi:type=\"tns:CompletionResult\">\
         <id xsi:type=\"xsd:long\">4294967297</id>\
         <status xsi:type=\"xsd:string\">completed</status></result>"
    ));
    assert_eq!(texts(&doc, "status"), ["completed", "stale-lease"]);
    let doc = write_answer("CompleteRequests", None, Style::Literal, &answer);
    assert!(doc.contains(
        "<CompleteRequestsResponse xmlns=\"urn:Suzanne\"><result>\
         <id>4294967297</id><status>completed</status></result><result>"
    ));
    assert!(!doc.contains("xsi:type"));
    let empty = Answer::Results(Vec::new());
    let doc = write_answer("CompleteRequests", None, Style::Encoded, &empty);
    assert!(doc.contains("tns:CompletionResult[0]"));
}

#[test]
fn fields_leave_elements_out() {
    assert_eq!(Fields::parse("").unwrap(), Fields::ALL);
    assert_eq!(Fields::parse(" , ").unwrap(), Fields::ALL);
    assert_eq!(Fields::parse("raw,bodies").unwrap_err(), "bodies");
    let f = Fields::parse("id leaseToken domainsAscii,raw sha256").unwrap();
    assert!(f.has("raw") && f.has("domainsAscii") && f.has("id"));
    assert!(!f.has("body") && !f.has("form") && !f.has("domains"));

    let mut r = sample();
    r.fields = f;
    for style in [Style::Encoded, Style::Literal] {
        let answer = Answer::Requests(vec![r.clone()]);
        let doc = write_answer("GetRequests", None, style, &answer);
        for gone in ["body", "form", "subject", "from", "arrival", "domains"] {
            assert!(texts(&doc, gone).is_empty(), "{gone} in {doc}");
        }
        assert_eq!(texts(&doc, "domain").len(), 2, "{doc}");
        assert_eq!(texts(&doc, "leaseToken"), ["L1-abc"]);
        assert_eq!(texts(&doc, "sha256").len(), 1);
        assert_eq!(texts(&doc, "raw").len(), 1);
        assert!(texts(&doc, "state").is_empty());
        assert!(texts(&doc, "leaseExpires").is_empty());
    }
}
