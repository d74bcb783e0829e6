//! One document model rendered two ways: GeoReport v2 XML (mandatory) and its JSON mapping.
//! A [`Node::List`] is an XML element repeated under its parent and a JSON array; an
//! [`Node::Object`] is child elements and a JSON object. Also the `application/x-www-form-urlencoded`
//! decoder used for both query strings and POST bodies.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The output format, chosen by the path suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Xml,
    Json,
}

impl Format {
    /// Splits `name.xml` / `name.json` into the name and its format.
    pub(crate) fn split(file: &str) -> Option<(&str, Format)> {
        let (name, suffix) = file.rsplit_once('.')?;
        let format = match suffix {
            "xml" => Format::Xml,
            "json" => Format::Json,
            _ => return None,
        };
        Some((name, format))
    }
}

/// A value of an Open311 document.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    /// Absent optional value: an empty element in XML, `null` in JSON.
    Null,
    /// Repeated `item` elements; a JSON array.
    List {
        item: &'static str,
        items: Vec<Node>,
    },
    Object(Vec<(&'static str, Node)>),
}

impl Node {
    pub(crate) fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    pub(crate) fn opt_text(value: Option<impl Into<String>>) -> Node {
        value.map_or(Node::Null, |v| Node::Text(v.into()))
    }

    pub(crate) fn opt_number(value: Option<f64>) -> Node {
        value.map_or(Node::Null, Node::Number)
    }

    /// Returns the JSON mapping.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(text) => Value::String(text.clone()),
            Node::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Node::Int(n) => Value::from(*n),
            Node::Bool(b) => Value::Bool(*b),
            Node::Null => Value::Null,
            Node::List { items, .. } => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(name, node)| ((*name).to_owned(), node.to_json()))
                    .collect(),
            ),
        }
    }

    /// Returns the XML document with `root` as the outer element.
    pub(crate) fn to_xml(&self, root: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        write_element(&mut out, root, self);
        out
    }
}

fn write_element(out: &mut String, name: &str, node: &Node) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match node {
        Node::Text(text) => escape_into(out, text),
        Node::Number(n) => out.push_str(&n.to_string()),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Null => {}
        Node::List { item, items } => {
            for child in items {
                write_element(out, item, child);
            }
        }
        Node::Object(fields) => {
            for (child_name, child) in fields {
                write_element(out, child_name, child);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Escapes text content; characters XML 1.0 cannot carry at all are dropped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// Renders a document in the chosen format with the spec's content type.
pub(crate) fn render(status: StatusCode, format: Format, root: &str, node: &Node) -> Response {
    match format {
        Format::Xml => (
            status,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            node.to_xml(root),
        )
            .into_response(),
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            node.to_json().to_string(),
        )
            .into_response(),
    }
}

/// Decodes `application/x-www-form-urlencoded` text into pairs (`+` is a space; invalid
/// percent escapes are kept literally; invalid UTF-8 is replaced).
pub(crate) fn decode_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_lists_repeat() {
        let node = Node::List {
            item: "error",
            items: vec![Node::Object(vec![
                ("code", Node::Int(400)),
                ("description", Node::text("a<b & \"c\"")),
            ])],
        };
        assert_eq!(
            node.to_xml("errors"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>400</code><description>a&lt;b &amp; &quot;c&quot;</description></error></errors>"
        );
        assert_eq!(
            node.to_json().to_string(),
            r#"[{"code":400,"description":"a<b & \"c\""}]"#
        );
    }

    #[test]
    fn forms_decode() {
        assert_eq!(
            decode_form("a=1+2&b=%E4%BD%A0&c&d=%zz&e=%4"),
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "你".into()),
                ("c".into(), "".into()),
                ("d".into(), "%zz".into()),
                ("e".into(), "%4".into()),
            ]
        );
    }
}
