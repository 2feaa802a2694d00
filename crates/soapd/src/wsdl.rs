//! The published WSDL: SOAP 1.1, document/literal wrapped, namespace
//! `urn:Suzanne`, `soapAction="urn:Suzanne#<Op>"` (what SOAP::Lite sends
//! by default).  Generated from one table of operations so the schema,
//! the messages and the binding cannot drift apart.
//!
//! Frozen for zeep and suds callers: they refuse an answer carrying an
//! element the schema does not declare, so a new field is a new
//! operation or a new namespace, never an addition here.  What may grow
//! is a call's input (an optional element old callers never send) and
//! the list of operations.  The `Request` elements GetRequests' `fields`
//! can leave out are `minOccurs="0"`; every answer to a call without
//! `fields` still carries them all.

use crate::protocol::escape;

/// (element name, XML Schema type, occurrence attributes)
type Field = (&'static str, &'static str, &'static str);

const ONE: &str = "";
const OPTIONAL: &str = " minOccurs=\"0\"";
const MANY: &str = " minOccurs=\"0\" maxOccurs=\"unbounded\"";

/// Every operation: name, request children, response children.
pub const OPERATIONS: &[(&str, &[Field], &[Field])] = &[
    (
        "GetRequests",
        &[
            ("max", "xsd:int", ONE),
            ("leaseSeconds", "xsd:int", OPTIONAL),
            ("fields", "xsd:string", OPTIONAL),
        ],
        &[("request", "tns:Request", MANY)],
    ),
    (
        "CompleteRequest",
        &[
            ("id", "xsd:long", ONE),
            ("leaseToken", "xsd:string", ONE),
            ("outcome", "xsd:string", ONE),
            ("comment", "xsd:string", OPTIONAL),
        ],
        &[("status", "xsd:string", ONE)],
    ),
    (
        "CompleteRequests",
        &[("completions", "tns:CompletionList", ONE)],
        &[("result", "tns:CompletionResult", MANY)],
    ),
    (
        "HoldRequest",
        &[
            ("id", "xsd:long", ONE),
            ("leaseToken", "xsd:string", ONE),
            ("reason", "xsd:string", ONE),
        ],
        &[("status", "xsd:string", ONE)],
    ),
    (
        "ReleaseRequest",
        &[("id", "xsd:long", ONE), ("leaseToken", "xsd:string", ONE)],
        &[("status", "xsd:string", ONE)],
    ),
    (
        "ExtendLease",
        &[
            ("id", "xsd:long", ONE),
            ("leaseToken", "xsd:string", ONE),
            ("seconds", "xsd:int", ONE),
        ],
        &[("leaseExpires", "xsd:dateTime", ONE)],
    ),
    (
        "GetRequest",
        &[("id", "xsd:long", ONE)],
        &[("request", "tns:Request", ONE)],
    ),
    (
        "QueueStatus",
        &[],
        &[
            ("pending", "xsd:int", ONE),
            ("leased", "xsd:int", ONE),
            ("held", "xsd:int", ONE),
            ("completed", "xsd:int", ONE),
            ("oldestPendingAge", "xsd:int", ONE),
        ],
    ),
];

/// The contract's Request, in its order.  The optional elements are
/// the ones GetRequests' `fields` may leave out (`Fields::NAMES`).
const REQUEST: &[Field] = &[
    ("id", "xsd:long", ONE),
    ("arrival", "xsd:dateTime", OPTIONAL),
    ("envelopeSender", "xsd:string", OPTIONAL),
    ("from", "xsd:string", OPTIONAL),
    ("messageId", "xsd:string", OPTIONAL),
    ("subject", "xsd:string", OPTIONAL),
    ("domains", "tns:DomainList", OPTIONAL),
    ("domainsAscii", "tns:DomainList", OPTIONAL),
    ("form", "tns:FormFieldList", OPTIONAL),
    ("body", "xsd:string", OPTIONAL),
    ("raw", "xsd:base64Binary", OPTIONAL),
    ("sha256", "xsd:string", OPTIONAL),
    ("state", "xsd:string", OPTIONAL),
    ("leaseToken", "xsd:string", ONE),
    (
        "leaseExpires",
        "xsd:dateTime",
        " minOccurs=\"0\" nillable=\"true\"",
    ),
];

fn sequence(out: &mut String, indent: &str, fields: &[Field]) {
    out.push_str(indent);
    out.push_str("<xsd:sequence>\n");
    for (name, ty, occurs) in fields {
        out.push_str(&format!(
            "{indent}  <xsd:element name=\"{name}\" type=\"{ty}\"{occurs}/>\n"
        ));
    }
    out.push_str(indent);
    out.push_str("</xsd:sequence>\n");
}

fn complex_type(out: &mut String, name: &str, fields: &[Field]) {
    out.push_str(&format!("      <xsd:complexType name=\"{name}\">\n"));
    sequence(out, "        ", fields);
    out.push_str("      </xsd:complexType>\n");
}

fn wrapper(out: &mut String, name: &str, fields: &[Field]) {
    out.push_str(&format!(
        "      <xsd:element name=\"{name}\">\n        <xsd:complexType>\n"
    ));
    sequence(out, "          ", fields);
    out.push_str("        </xsd:complexType>\n      </xsd:element>\n");
}

/// The WSDL announcing the endpoint at `address`.
pub fn document(address: &str) -> String {
    let mut out = String::with_capacity(12 * 1024);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <wsdl:definitions name=\"Suzanne\" targetNamespace=\"urn:Suzanne\"\n\
         \x20   xmlns:tns=\"urn:Suzanne\"\n\
         \x20   xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"\n\
         \x20   xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\"\n\
         \x20   xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n\
         \x20 <wsdl:types>\n\
         \x20   <xsd:schema targetNamespace=\"urn:Suzanne\" \
         elementFormDefault=\"qualified\">\n",
    );
    complex_type(&mut out, "DomainList", &[("domain", "xsd:string", MANY)]);
    complex_type(
        &mut out,
        "FormField",
        &[("name", "xsd:string", ONE), ("value", "xsd:string", ONE)],
    );
    complex_type(
        &mut out,
        "FormFieldList",
        &[("field", "tns:FormField", MANY)],
    );
    complex_type(&mut out, "Request", REQUEST);
    complex_type(
        &mut out,
        "Completion",
        &[
            ("id", "xsd:long", ONE),
            ("leaseToken", "xsd:string", ONE),
            ("outcome", "xsd:string", ONE),
            ("comment", "xsd:string", OPTIONAL),
        ],
    );
    complex_type(
        &mut out,
        "CompletionList",
        &[("completion", "tns:Completion", MANY)],
    );
    complex_type(
        &mut out,
        "CompletionResult",
        &[("id", "xsd:long", ONE), ("status", "xsd:string", ONE)],
    );
    for (op, input, output) in OPERATIONS {
        wrapper(&mut out, op, input);
        wrapper(&mut out, &format!("{op}Response"), output);
    }
    out.push_str("    </xsd:schema>\n  </wsdl:types>\n");

    for (op, _, _) in OPERATIONS {
        for suffix in ["", "Response"] {
            out.push_str(&format!(
                "  <wsdl:message name=\"{op}{suffix}\">\n    \
                 <wsdl:part name=\"parameters\" element=\"tns:{op}{suffix}\"/>\n  \
                 </wsdl:message>\n"
            ));
        }
    }

    out.push_str("  <wsdl:portType name=\"SuzannePortType\">\n");
    for (op, _, _) in OPERATIONS {
        out.push_str(&format!(
            "    <wsdl:operation name=\"{op}\">\n      \
             <wsdl:input message=\"tns:{op}\"/>\n      \
             <wsdl:output message=\"tns:{op}Response\"/>\n    \
             </wsdl:operation>\n"
        ));
    }
    out.push_str("  </wsdl:portType>\n");

    out.push_str(
        "  <wsdl:binding name=\"SuzanneBinding\" type=\"tns:SuzannePortType\">\n    \
         <soap:binding style=\"document\" \
         transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n",
    );
    for (op, _, _) in OPERATIONS {
        out.push_str(&format!(
            "    <wsdl:operation name=\"{op}\">\n      \
             <soap:operation soapAction=\"urn:Suzanne#{op}\" style=\"document\"/>\n      \
             <wsdl:input><soap:body use=\"literal\"/></wsdl:input>\n      \
             <wsdl:output><soap:body use=\"literal\"/></wsdl:output>\n    \
             </wsdl:operation>\n"
        ));
    }
    out.push_str("  </wsdl:binding>\n");

    out.push_str(&format!(
        "  <wsdl:service name=\"Suzanne\">\n    \
         <wsdl:port name=\"SuzannePort\" binding=\"tns:SuzanneBinding\">\n      \
         <soap:address location=\"{}\"/>\n    \
         </wsdl:port>\n  </wsdl:service>\n</wsdl:definitions>\n",
        escape(address)
    ));
    out
}

/// The parameter names of an operation, in the WSDL's order (for the
/// positional fallback).
pub fn parameters(op: &str) -> Option<Vec<&'static str>> {
    OPERATIONS
        .iter()
        .find(|(name, _, _)| *name == op)
        .map(|(_, input, _)| input.iter().map(|f| f.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_and_addressed() {
        let doc = document("http://127.0.0.1:8780/soap?a=1&b=2");
        let mut n = 0;
        for ev in xml::reader::EventReader::new(doc.as_bytes()) {
            ev.unwrap();
            n += 1;
        }
        assert!(n > 100);
        assert!(doc
            .contains("location=\"http://127.0.0.1:8780/soap?a=1&amp;b=2\""));
        assert_eq!(doc.matches("soapAction=\"urn:Suzanne#").count(), 8);
        assert!(doc.contains("soapAction=\"urn:Suzanne#CompleteRequests\""));
        assert_eq!(parameters("CompleteRequests").unwrap(), ["completions"]);
        // What GetRequests' fields may leave out is what the schema
        // says is optional.
        let optional: Vec<&str> = REQUEST
            .iter()
            .filter(|f| f.2.contains("minOccurs=\"0\""))
            .map(|f| f.0)
            .collect();
        assert_eq!(optional, crate::protocol::Fields::NAMES);
        assert_eq!(
            parameters("HoldRequest").unwrap(),
            ["id", "leaseToken", "reason"]
        );
    }
}
