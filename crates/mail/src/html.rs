//! Text out of an HTML part, for messages that have no text/plain part.
//!
//! Only good enough to find `key: value` lines: tags dropped, line
//! breaks at block tags, `<style>`/`<script>` contents skipped, common
//! entities decoded. Not a renderer.

pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        let tag_and_after = &rest[lt..];
        let Some(gt) = tag_and_after.find('>') else {
            rest = "";
            break;
        };
        let tag = tag_and_after[1..gt].trim().to_ascii_lowercase();
        rest = &tag_and_after[gt + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        if !tag.starts_with('/') && (name == "style" || name == "script") {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = lower.find(&close).map_or("", |i| &rest[i..]);
            continue;
        }
        if is_block(&name) {
            out.push('\n');
        }
    }
    push_text(&mut out, rest);
    tidy(&out)
}

/// One blank between words, no empty lines, no blanks at line ends.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !words.is_empty() {
            out.push_str(&words.join(" "));
            out.push('\n');
        }
    }
    out
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "br" | "p"
            | "div"
            | "tr"
            | "li"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "table"
            | "ul"
            | "ol"
            | "pre"
            | "blockquote"
    )
}

fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&squash(&rest[..amp]));
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&i| i <= 10);
        match end.and_then(|i| entity(&after[..i]).map(|c| (c, i))) {
            Some((c, i)) => {
                out.push(c);
                rest = &after[i + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(&squash(rest));
}

/// Source line breaks are blanks in HTML.
fn squash(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "ocirc" => 'ô',
        "ucirc" => 'û',
        "icirc" => 'î',
        "euml" => 'ë',
        "iuml" => 'ï',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_survives() {
        let html = "<html><style>p{x:y}</style><p>Domaine&nbsp;: \
            caf&eacute;.fr<br>langue: fr</p><script>a<b</script>&unknown;";
        let text = to_text(html);
        let lines: Vec<_> = text.lines().collect();
        assert!(lines.contains(&"Domaine : café.fr"), "{text:?}");
        assert!(lines.contains(&"langue: fr"), "{text:?}");
        assert!(!text.contains("x:y"));
        assert!(text.ends_with("&unknown;\n"));
        assert_eq!(to_text("a<b"), "a\n");
    }
}
