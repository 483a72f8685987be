//! JSON Schema `pattern`s are ECMA-262 regular expressions; the generated
//! validators use Rust's `regex`. The two dialects read the same text
//! differently, so a pattern is translated before it is compiled:
//!
//! | ECMA-262 | meaning | Rust emitted |
//! |---|---|---|
//! | `\d` / `\D` | ASCII digits / anything else | `[0-9]` / `[^0-9]` (Rust's `\d` is every Unicode digit) |
//! | `\w` / `\W` | ASCII word characters / anything else | `[0-9A-Za-z_]` / `[^0-9A-Za-z_]` |
//! | `\s` / `\S` | ECMA's own white space and line terminators | that exact set (`\t \n \v \f \r`, space, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF) / its complement |
//! | `\b` / `\B` | ASCII word boundary | `(?-u:\b)` / `(?-u:\B)` |
//! | `.` | anything but a line terminator | `[^\n\r\u{2028}\u{2029}]` |
//! | `[\b]` | backspace | `[\x08]` |
//! | `\cX`, `\0` | control character, NUL | `\x{..}` |
//! | `[` `&&` `~~` `--` inside a class | literals | escaped (Rust reads them as nested classes and set operations) |
//! | `[]` / `[^]` | nothing / anything | an empty class / every character |
//! | `{` `}` `]` not part of a quantifier or class | literals (Annex B) | escaped |
//!
//! Inside a class the escapes become nested classes (`[\d-]` → `[[0-9]-]`),
//! which Rust's syntax accepts. The translation is a lexer over the ECMA
//! text: `regex-syntax` parses Rust's dialect, in which the class
//! metacharacters above already mean something else, so it checks the
//! result ([`check`]) rather than reading the input. Constructs Rust's regex
//! has no equivalent for (look-around, backreferences) pass through
//! unchanged and fail the check with its message.

/// ECMA-262 `\s`: WhiteSpace and LineTerminator code points.
const SPACE: &str =
    r"\t\n\x0B\x0C\r \xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";

/// Translate an ECMA-262 pattern into Rust `regex` syntax with the same meaning.
pub(crate) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    // Position of the first character inside the current class, if in one.
    let mut class_start: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        let in_class = class_start.is_some();
        match c {
            '\\' if i + 1 < chars.len() => {
                i += escape(&chars, i + 1, in_class, &mut out);
                continue;
            }
            '[' if !in_class => {
                let negated = chars.get(i + 1) == Some(&'^');
                let first = i + 1 + usize::from(negated);
                if chars.get(first) == Some(&']') {
                    // `[]` matches nothing, `[^]` anything.
                    out.push_str(if negated {
                        r"[\x{0}-\x{10FFFF}]"
                    } else {
                        r"[^\x{0}-\x{10FFFF}]"
                    });
                    i = first + 1;
                    continue;
                }
                out.push_str(if negated { "[^" } else { "[" });
                class_start = Some(first);
                i = first;
                continue;
            }
            ']' if in_class => {
                out.push(']');
                class_start = None;
            }
            '[' => out.push_str(r"\["),
            '&' | '~' if in_class && chars.get(i + 1) == Some(&c) => {
                out.push(c);
                out.push('\\');
                out.push(c);
                i += 2;
                continue;
            }
            '-' if in_class && chars.get(i + 1) == Some(&'-') => {
                out.push_str(r"-\-");
                i += 2;
                continue;
            }
            '.' if !in_class => out.push_str(r"[^\n\r\u{2028}\u{2029}]"),
            '{' if !in_class => match quantifier_end(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    i = end + 1;
                    continue;
                }
                None => out.push_str(r"\{"),
            },
            '}' | ']' if !in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Emit the escape whose letter is at `at`; returns how many characters were consumed
/// (including the backslash).
fn escape(chars: &[char], at: usize, in_class: bool, out: &mut String) -> usize {
    let letter = chars[at];
    let class = |set: &str, negated: bool| {
        if negated {
            format!("[^{set}]")
        } else {
            format!("[{set}]")
        }
    };
    match letter {
        'd' | 'D' => out.push_str(&class(DIGIT, letter == 'D')),
        'w' | 'W' => out.push_str(&class(WORD, letter == 'W')),
        's' | 'S' => out.push_str(&class(SPACE, letter == 'S')),
        'b' if in_class => out.push_str(r"\x08"),
        'b' | 'B' if !in_class => {
            out.push_str(if letter == 'b' {
                r"(?-u:\b)"
            } else {
                r"(?-u:\B)"
            });
        }
        'c' if chars.get(at + 1).is_some_and(char::is_ascii_alphabetic) => {
            let code = u32::from(chars[at + 1]) % 32;
            out.push_str(&format!(r"\x{{{code:X}}}"));
            return 3;
        }
        '0' if !chars.get(at + 1).is_some_and(char::is_ascii_digit) => out.push_str(r"\x00"),
        _ => {
            out.push('\\');
            out.push(letter);
        }
    }
    2
}

/// The index of the `}` closing a quantifier `{n}`, `{n,}` or `{n,m}` opened at `open`.
fn quantifier_end(chars: &[char], open: usize) -> Option<usize> {
    let mut i = open + 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (chars.get(i) == Some(&'}')).then_some(i)
}

/// Whether a translated pattern compiles with Rust's `regex`; the error says why not.
pub(crate) fn check(translated: &str) -> Result<(), String> {
    if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(translated) {
        return Err(e.kind().to_string());
    }
    if let Err(e) = regex_syntax::Parser::new().parse(translated) {
        return Err(match e {
            regex_syntax::Error::Translate(t) => t.kind().to_string(),
            other => other.to_string(),
        });
    }
    regex::Regex::new(translated)
        .map(|_| ())
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("it compiles to more than the regex size limit ({limit} bytes)")
            }
            other => other.to_string(),
        })
}

/// Steps a backtracking match may take before the value is refused
/// (`rampart::validate::keywords::BACKTRACK_LIMIT` at run time).
pub(crate) const BACKTRACK_LIMIT: usize = 100_000;

/// Whether the backtracking engine (`fancy-regex`) compiles `translated`:
/// patterns with look-around or backreferences, which Rust's regex refuses.
pub(crate) fn check_backtracking(translated: &str) -> Result<(), String> {
    fancy_regex::RegexBuilder::new(translated)
        .backtrack_limit(BACKTRACK_LIMIT)
        .build()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(ecma: &str, text: &str) -> bool {
        let rust = translate(ecma);
        check(&rust).unwrap_or_else(|e| panic!("{ecma} -> {rust}: {e}"));
        regex::Regex::new(&rust).unwrap().is_match(text)
    }

    #[test]
    fn digits_words_and_boundaries_are_ascii() {
        assert_eq!(translate(r"^\d{4}$"), "^[0-9]{4}$");
        assert!(matches(r"^\d{4}$", "2026"));
        // Arabic-Indic and fullwidth digits are `\d` in Rust, not in ECMA-262.
        assert!(!matches(r"^\d{4}$", "٢٠٢٦"));
        assert!(!matches(r"^\d+$", "１２"));
        assert!(matches(r"^\D+$", "٢٠"));
        assert!(!matches(r"^\w+$", "café"));
        assert!(matches(r"^\W$", "é"));
        assert!(matches(r"^[\w.-]+$", "a_b.c-d"));
        assert!(!matches(r"^[\w.-]+$", "é"));
        assert!(!matches(r"^[^\d]+$", "a1"));
        assert!(matches(r"^[^\d]+$", "a٢"));
        assert_eq!(translate(r"[\d-]"), "[[0-9]-]");
        assert!(matches(r"^[\d-]+$", "12-3"));
        // `\b` is an ASCII word boundary: `é` is not a word character.
        assert!(matches(r"\bcaf\b", "écafé"));
        assert!(!matches(r"\bcaf\b", "xcafx"));
        assert!(matches(r"a\Bb", "ab"));
        // `[\b]` is a backspace.
        assert!(matches(r"^[\b]$", "\u{8}"));
    }

    #[test]
    fn space_is_ecma_white_space() {
        for ws in [
            "\t", "\n", "\u{b}", "\u{c}", "\r", " ", "\u{a0}", "\u{1680}", "\u{2003}", "\u{2028}",
            "\u{202f}", "\u{3000}", "\u{feff}",
        ] {
            assert!(matches(r"^\s$", ws), "{ws:?}");
            assert!(!matches(r"^\S$", ws), "{ws:?}");
        }
        // NEL is white space to Unicode (Rust's `\s`), not to ECMA-262.
        assert!(!matches(r"^\s$", "\u{85}"));
        assert!(matches(r"^[a\s]+$", "a a"));
        assert!(matches(r"^[^\s]+$", "\u{85}"));
    }

    #[test]
    fn dot_and_class_literals_keep_their_ecma_meaning() {
        assert!(!matches(r"^.$", "\r"));
        assert!(!matches(r"^.$", "\u{2028}"));
        assert!(matches(r"^.$", "é"));
        // Inside an ECMA class `[`, `&&` and `~~` are plain characters.
        assert!(matches(r"^[[a]+$", "[a["));
        assert!(matches(r"^[a&&b]+$", "a&b"));
        assert!(matches(r"^[a~~b]+$", "~"));
        assert!(matches(r"^[+--]$", ","));
        // Empty and full classes.
        assert!(!matches(r"^[]$", "a"));
        assert!(matches(r"^[^]$", "\n"));
        // Annex B literal braces and brackets.
        assert!(matches(r"^{a}$", "{a}"));
        assert!(matches(r"^a{2,3}$", "aaa"));
        assert!(matches(r"^a]$", "a]"));
        // Escapes.
        assert!(matches(r"^\cJ$", "\n"));
        assert!(matches(r"^\0$", "\0"));
        assert!(matches(r"^\u00e9\/\-$", "é/-"));
        assert!(matches(r"^\\d$", "\\d"));
    }

    #[test]
    fn what_rust_cannot_do_is_reported() {
        let backreference = translate(r"(a)\1");
        assert!(
            check(&backreference)
                .unwrap_err()
                .contains("backreferences")
        );
        let lookahead = translate(r"^(?=a)a$");
        assert!(check(&lookahead).unwrap_err().contains("look-around"));
        assert!(check(&translate("a{2,1}")).is_err());
    }
}
