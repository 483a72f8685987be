//! A constraint the generated validators cannot enforce is a generation
//! error naming `file:line:col` (issue 14 item 12), unless the schema opts
//! out visibly with `x-rampart: { unenforced: [...] }` or the front end is
//! told `allow_unenforced`.

use std::path::PathBuf;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("rampart-unenforced-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

const SPEC: &str = "openapi: 3.0.3
info: { title: t, version: '1' }
paths: {}
components:
  schemas:
    Thing:
      type: object
      properties:
        repeated:
          type: string
          pattern: '^(a)\\1$'
        even:
          type: integer
          multipleOf: 2
        flag:
          type: boolean
          enum: [true]
        known:
          type: string
          pattern: '(?=x)x'
          x-rampart: { unenforced: [pattern] }
";

#[test]
fn unenforceable_constraints_are_errors_with_their_position() {
    let d = dir("errors");
    let spec = d.0.join("api.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let err = rampart_codegen::Builder::new(&spec)
        .out_dir(&d.0)
        .generate()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("error[unenforceable]: `pattern` of `/components/schemas/Thing/properties/repeated` cannot be enforced: Rust's regex cannot compile `^(a)\\1$`: backreferences are not supported"),
        "{err}"
    );
    assert!(err.contains("api.yaml:11:11"), "{err}");
    assert!(
        err.contains("`multipleOf` of `/components/schemas/Thing/properties/even`"),
        "{err}"
    );
    assert!(err.contains("api.yaml:14:11"), "{err}");
    assert!(
        err.contains("`enum` of `/components/schemas/Thing/properties/flag`"),
        "{err}"
    );
    assert!(err.contains("api.yaml:17:11"), "{err}");
    assert!(
        err.contains("x-rampart: { unenforced: [pattern] }` on this schema"),
        "{err}"
    );
    // The opted-out pattern is not reported.
    assert!(!err.contains("/properties/known"), "{err}");
    assert_eq!(err.matches("error[unenforceable]").count(), 3, "{err}");
    assert!(!d.0.join("api.rs").exists());

    // Explicitly lenient: generated, every one reported as a warning.
    let written = rampart_codegen::Builder::new(&spec)
        .out_dir(&d.0)
        .allow_unenforced(true)
        .generate()
        .unwrap();
    assert!(written.exists());
}

#[test]
fn opt_outs_make_the_spec_generate_and_misspelt_ones_are_named() {
    let d = dir("optout");
    let spec = d.0.join("api.yaml");
    let opted = SPEC
        .replace(
            "          pattern: '^(a)\\1$'\n",
            "          pattern: '^(a)\\1$'\n          x-rampart: { unenforced: [pattern] }\n",
        )
        .replace(
            "          multipleOf: 2\n",
            "          multipleOf: 2\n          x-rampart: { unenforced: [multipleOf] }\n",
        )
        .replace(
            "          enum: [true]\n",
            "          enum: [true]\n          x-rampart: { unenforced: [enum] }\n",
        );
    std::fs::write(&spec, &opted).unwrap();
    let (text, warnings) = rampart_codegen::generate_from_path(&spec).unwrap();
    assert!(text.contains("pub struct Thing"), "{text}");
    assert!(
        warnings.iter().any(|w| w.contains("^(a)\\1$")),
        "{warnings:?}"
    );

    // A misspelt opt-out is an ordinary x-rampart error: position and nearest word.
    std::fs::write(&spec, opted.replace("[multipleOf]", "[multipleof]")).unwrap();
    let err = rampart_codegen::generate_from_path(&spec)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "`multipleof` is not a keyword `unenforced` can name; did you mean `multipleOf`?"
        ),
        "{err}"
    );
    assert!(err.contains("api.yaml:16:37"), "{err}");
}
