//! Parse YAML (and JSON, a subset of YAML 1.2) into a positioned [`Node`] tree.

use std::cell::Cell;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::node::{Key, Node, NodeKind};
use crate::source::{FileId, Span};

/// Deepest nesting accepted; deeper documents are refused rather than risking the stack.
pub const MAX_DEPTH: usize = 200;
/// Most nodes alias expansions may produce in one document, in total (guards
/// against "billion laughs"). Checked before an expansion is copied, so a
/// refused document never allocates more than this many copied nodes.
pub const MAX_NODES: usize = 1_000_000;

/// A syntax error with its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// Parse one document from `text`.
pub fn parse(text: &str, file: FileId) -> Result<Node, SyntaxError> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let ascii_lines = text.split('\n').map(str::is_ascii).collect();
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        text,
        file,
        anchors: HashMap::new(),
        nodes: 0,
        line_starts,
        ascii_lines,
        cursor: Cell::new((usize::MAX, 0, 0)),
    };
    builder.document()
}

struct Anchored {
    node: Node,
    /// Levels below the node (0 for a scalar).
    height: usize,
    /// Nodes in the tree, keys included.
    size: usize,
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    text: &'a str,
    file: FileId,
    /// Anchored values with their height and size, for alias expansion.
    anchors: HashMap<usize, Anchored>,
    /// Nodes produced by alias expansion so far.
    nodes: usize,
    line_starts: Vec<usize>,
    /// Whether each line is pure ASCII (columns are then byte offsets).
    ascii_lines: Vec<bool>,
    /// The last position converted: line index, column, byte offset.
    cursor: Cell<(usize, usize, usize)>,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), SyntaxError> {
        self.parser.next_token().map_err(|e| self.scan_error(&e))
    }

    fn scan_error(&self, e: &ScanError) -> SyntaxError {
        let offset = self.offset(e.marker());
        SyntaxError {
            message: e.info().to_owned(),
            span: Span::new(self.file, offset, offset + 1),
        }
    }

    /// Byte offset of a marker. The scanner counts characters, not bytes, so
    /// go through the (1-based) line and (0-based, in characters) column.
    ///
    /// Constant time on ASCII lines; on others, characters are counted from
    /// the previous marker on the same line, so a whole document on one line
    /// (minified JSON) costs one pass over it, not one pass per value.
    fn offset(&self, mark: &Marker) -> usize {
        let index = mark.line().saturating_sub(1);
        let Some(&start) = self.line_starts.get(index) else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let col = mark.col();
        if self.ascii_lines[index] {
            return start + col.min(end - start);
        }
        let (mut at_col, mut at) = match self.cursor.get() {
            (line, c, byte) if line == index && c <= col => (c, byte),
            _ => (0, start),
        };
        for ch in self.text[at..end].chars() {
            if at_col == col {
                break;
            }
            at_col += 1;
            at += ch.len_utf8();
        }
        self.cursor.set((index, at_col, at));
        at
    }

    fn error_at(&self, mark: &Marker, message: impl Into<String>) -> SyntaxError {
        let offset = self.offset(mark);
        SyntaxError {
            message: message.into(),
            span: Span::new(self.file, offset, offset + 1),
        }
    }

    fn document(&mut self) -> Result<Node, SyntaxError> {
        loop {
            let (event, mark) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentStart | Event::Nothing => continue,
                Event::StreamEnd => {
                    return Err(self.error_at(&mark, "the document is empty"));
                }
                other => {
                    let root = self.node(other, mark, 0)?;
                    self.end_of_stream()?;
                    return Ok(root);
                }
            }
        }
    }

    /// After the root value: the document may end, but a second one is refused
    /// (it would otherwise be silently ignored).
    fn end_of_stream(&mut self) -> Result<(), SyntaxError> {
        loop {
            let (event, mark) = self.next()?;
            match event {
                Event::DocumentEnd | Event::Nothing => continue,
                Event::StreamEnd => return Ok(()),
                _ => {
                    return Err(self.error_at(
                        &mark,
                        "a spec must be a single YAML document, but another one starts here",
                    ));
                }
            }
        }
    }

    fn count(&mut self, mark: &Marker, n: usize) -> Result<(), SyntaxError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(self.error_at(mark, "document expands to too many values (alias bomb?)"));
        }
        Ok(())
    }

    fn node(&mut self, event: Event, mark: Marker, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error_at(
                &mark,
                format!("values nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let start = self.offset(&mark);
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let len = scalar_len(self.text, start, &value, style);
                let span = Span::new(self.file, start, start + len);
                let node = Node {
                    kind: resolve_scalar(value, style, tag.as_ref()),
                    span,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let Some(&Anchored { height, size, .. }) = self.anchors.get(&id) else {
                    return Err(self.error_at(&mark, "alias to an unknown anchor"));
                };
                // Check before copying: an alias of a deep value used deep down
                // (or aliases of aliases) must not build a tree the recursive
                // walks downstream cannot descend, nor an exponential one.
                if depth + height > MAX_DEPTH {
                    return Err(self.error_at(
                        &mark,
                        format!(
                            "this alias expands to values nested deeper than {MAX_DEPTH} levels"
                        ),
                    ));
                }
                self.count(&mark, size)?;
                let mut node = self.anchors[&id].node.clone();
                node.span = Span::new(self.file, start, start + 1);
                Ok(node)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                let end = loop {
                    let (event, mark) = self.next()?;
                    match event {
                        Event::SequenceEnd => break self.offset(&mark),
                        other => items.push(self.node(other, mark, depth + 1)?),
                    }
                };
                let node = Node {
                    kind: NodeKind::Seq(items),
                    span: Span::new(self.file, start, end.max(start + 1)),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Key, Node)> = Vec::new();
                // Keys that came from `<<` merges: a key written in the mapping
                // itself overrides them, wherever it is written.
                let mut merged: Vec<String> = Vec::new();
                // A block mapping's start event is marked at its first `:`;
                // the mapping starts at its first key.
                let mut first_key: Option<usize> = None;
                let end = loop {
                    let (event, kmark) = self.next()?;
                    // Keys keep their spelling: `1.10`, `True` or `0x1F` name a
                    // property as written, not the number or boolean they resolve to.
                    let raw_key = match &event {
                        Event::Scalar(value, ..) => Some(value.clone()),
                        _ => None,
                    };
                    let key = match event {
                        Event::MappingEnd => break self.offset(&kmark),
                        other => self.node(other, kmark, depth + 1)?,
                    };
                    first_key.get_or_insert(key.span.start as usize);
                    let key_text = match (&key.kind, raw_key) {
                        (NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_), Some(raw)) => {
                            raw
                        }
                        _ => match key.scalar_text() {
                            Some(text) => text,
                            None => {
                                return Err(self.error_at(&kmark, "mapping keys must be scalars"));
                            }
                        },
                    };
                    let key_text = if matches!(key.kind, NodeKind::Null) {
                        self.text
                            .get(key.span.start as usize..key.span.end as usize)
                            .filter(|t| !t.trim().is_empty() && *t != "~")
                            .map_or(String::new(), |_| key_text)
                    } else {
                        key_text
                    };
                    let (event, vmark) = self.next()?;
                    let value = self.node(event, vmark, depth + 1)?;
                    if key_text == "<<" {
                        merged.extend(merge_into(&mut entries, value));
                        continue;
                    }
                    let entry = (
                        Key {
                            text: key_text,
                            span: key.span,
                        },
                        value,
                    );
                    match entries.iter().position(|(k, _)| k.text == entry.0.text) {
                        None => entries.push(entry),
                        Some(i) => match merged.iter().position(|m| *m == entry.0.text) {
                            Some(m) => {
                                merged.swap_remove(m);
                                entries[i] = entry;
                            }
                            None => {
                                return Err(self.error_at(
                                    &kmark,
                                    format!("duplicate key `{}`", entry.0.text),
                                ));
                            }
                        },
                    }
                };
                let start = first_key.map_or(start, |k| k.min(start));
                let node = Node {
                    kind: NodeKind::Map(entries),
                    span: Span::new(self.file, start, end.max(start + 1)),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                Err(self.error_at(&mark, "unexpected end of collection"))
            }
            Event::StreamEnd
            | Event::DocumentEnd
            | Event::StreamStart
            | Event::DocumentStart
            | Event::Nothing => Err(self.error_at(&mark, "unexpected end of document")),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            let (height, size) = measure(node);
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    height,
                    size,
                },
            );
        }
    }
}

/// `<<: *base` merges keys that the mapping does not already have; returns
/// the keys it added.
fn merge_into(entries: &mut Vec<(Key, Node)>, value: Node) -> Vec<String> {
    let sources = match value.kind {
        NodeKind::Map(_) => vec![value],
        NodeKind::Seq(items) => items,
        _ => return Vec::new(),
    };
    let mut added = Vec::new();
    for source in sources {
        if let NodeKind::Map(extra) = source.kind {
            for (k, v) in extra {
                if !entries.iter().any(|(e, _)| e.text == k.text) {
                    added.push(k.text.clone());
                    entries.push((k, v));
                }
            }
        }
    }
    added
}

/// Height (levels below the node) and size (nodes, keys included) of a tree.
fn measure(node: &Node) -> (usize, usize) {
    let grow = |(height, size): (usize, usize), child: &Node| {
        let (h, s) = measure(child);
        (height.max(h + 1), size + s)
    };
    match &node.kind {
        NodeKind::Seq(items) => items.iter().fold((0, 1), grow),
        NodeKind::Map(entries) => entries
            .iter()
            .fold((0, 1 + entries.len()), |acc, (_, v)| grow(acc, v)),
        _ => (0, 1),
    }
}

/// Length in bytes of a scalar as written (its first line), for the caret
/// under it. Reads only the scalar itself, never the rest of a long line.
fn scalar_len(text: &str, start: usize, value: &str, style: TScalarStyle) -> usize {
    let rest = text.get(start..).unwrap_or("");
    match style {
        TScalarStyle::Plain => {
            let mut len = value.len().min(rest.len());
            while !rest.is_char_boundary(len) {
                len -= 1;
            }
            rest[..len].find('\n').unwrap_or(len).max(1)
        }
        TScalarStyle::DoubleQuoted => {
            let mut escaped = false;
            for (i, c) in rest.char_indices().skip(1) {
                match c {
                    '\n' => return i.max(1),
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => return i + 1,
                    _ => {}
                }
            }
            rest.len().max(1)
        }
        TScalarStyle::SingleQuoted => {
            let mut chars = rest.char_indices().skip(1).peekable();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\n' => return i.max(1),
                    // `''` is a quote inside the scalar.
                    '\'' if chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                        chars.next();
                    }
                    '\'' => return i + 1,
                    _ => {}
                }
            }
            rest.len().max(1)
        }
        TScalarStyle::Literal | TScalarStyle::Folded => 1,
    }
}

/// YAML 1.2 core-schema resolution of a scalar.
fn resolve_scalar(value: String, style: TScalarStyle, tag: Option<&Tag>) -> NodeKind {
    if let Some(tag) = tag
        && (tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:")
    {
        match tag.suffix.as_str() {
            "str" => return NodeKind::Str(value),
            "null" => return NodeKind::Null,
            _ => {}
        }
    }
    if style != TScalarStyle::Plain {
        return NodeKind::Str(value);
    }
    match value.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeKind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    if looks_like_int(&value)
        && let Ok(i) = value.parse::<i64>()
    {
        return NodeKind::Int(i);
    }
    if let Some(hex) = value.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return NodeKind::Int(i);
    }
    if let Some(oct) = value.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return NodeKind::Int(i);
    }
    if looks_like_float(&value)
        && let Ok(f) = value.parse::<f64>()
    {
        return NodeKind::Float(f);
    }
    NodeKind::Str(value)
}

fn looks_like_int(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn looks_like_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut parts = body.splitn(2, ['e', 'E']);
    let mantissa = parts.next().unwrap_or("");
    let mantissa_ok = !mantissa.is_empty()
        && mantissa != "."
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().filter(|&b| b == b'.').count() <= 1;
    let exponent_ok = parts.next().is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> NodeKind {
        parse(text, 0).unwrap().kind
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        assert_eq!(kind("42"), NodeKind::Int(42));
        assert_eq!(kind("'42'"), NodeKind::Str("42".into()));
        assert_eq!(kind("1.5"), NodeKind::Float(1.5));
        assert_eq!(kind("true"), NodeKind::Bool(true));
        assert_eq!(kind("~"), NodeKind::Null);
        assert_eq!(kind("1.0.0"), NodeKind::Str("1.0.0".into()));
        assert_eq!(kind("5/min"), NodeKind::Str("5/min".into()));
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let text = "a:\n  bé: hello\n  c: [1, 2]\n";
        let root = parse(text, 0).unwrap();
        let (key, value) = root.get("a").unwrap().get_entry("bé").unwrap();
        assert_eq!(&text[key.span.start as usize..key.span.end as usize], "bé");
        assert_eq!(
            &text[value.span.start as usize..value.span.end as usize],
            "hello"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n", 0).unwrap_err();
        assert!(err.span.start > 0, "{err:?}");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse("a: 1\na: 2\n", 0).unwrap_err();
        assert!(err.message.contains("duplicate key `a`"));
        assert_eq!(err.span.start, 5);
    }

    #[test]
    fn aliases_expand_and_merge() {
        let root = parse("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", 0).unwrap();
        assert_eq!(root.pointer("/other/x").unwrap().kind, NodeKind::Int(1));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = "[".repeat(5000);
        assert!(parse(&text, 0).is_err());
    }
}
