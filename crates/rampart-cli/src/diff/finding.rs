//! What the diff reports: a [`Kind`] of change, its [`Class`], and one
//! [`Finding`] per change with the operation, the old and new values and
//! where it is written.

/// How a change is judged; `--fail-on` picks the lowest class that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Informational: a tightening that refuses no request a client sends
    /// today in normal use (a lower rate or burst, a stricter lockout, a
    /// later or newly announced sunset), or an added operation that
    /// requires authentication. Never fails the gate.
    Info,
    /// Breaking for clients: a request that was admitted is now refused
    /// (a stronger role, an added scope, a removed way in, a removed
    /// operation or parameter, a new required parameter or body, a removed
    /// success response, stricter validation, a lower body limit, fewer
    /// CORS origins or headers). Fails `--fail-on breaking`.
    Breaking,
    /// A security regression: the runtime now admits, or limits less,
    /// what it refused or limited before. Fails the default gate
    /// (`--fail-on security`) and `--fail-on breaking`.
    Security,
}

impl Class {
    /// `security`, `breaking` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Security => "security",
            Class::Breaking => "breaking",
            Class::Info => "info",
        }
    }

    /// The rustc-style level: `error`, `warning` or `note` (also SARIF's).
    pub fn level(self) -> &'static str {
        match self {
            Class::Security => "error",
            Class::Breaking => "warning",
            Class::Info => "note",
        }
    }
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $class:ident, $summary:literal; )*) => {
        /// A kind of change, with a stable kebab-case id ([`Kind::id`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $( $(#[$doc])* $variant, )*
        }

        impl Kind {
            /// Every kind, security regressions first.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The stable id (`rate-raised`).
            pub fn id(self) -> &'static str {
                match self { $(Kind::$variant => $id,)* }
            }

            /// Its class.
            pub fn class(self) -> Class {
                match self { $(Kind::$variant => Class::$class,)* }
            }

            /// One line saying what the kind means (SARIF `shortDescription`).
            pub fn summary(self) -> &'static str {
                match self { $(Kind::$variant => $summary,)* }
            }

            /// The kind with this id.
            pub fn from_id(id: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.id() == id)
            }
        }
    };
}

kinds! {
    /// Security: the operation required authentication and now has no
    /// security requirement at all (`security: []`, or none applies).
    AuthRemoved = "auth-removed", Security, "an operation that required authentication admits anonymous callers";
    /// Security: an empty `{}` alternative was added (anonymous allowed).
    AuthOptionalAdded = "auth-optional-added", Security, "an empty `{}` security alternative makes authentication optional";
    /// Security: a way in through a weaker scheme (see the strength order
    /// in `security.rs`), a scheme redefined as a weaker one, an AND set
    /// that lost a scheme, or a JWT scheme whose `x-rampart` accepts tokens
    /// from more issuers or for more audiences (or leaves them to the
    /// configuration), or no longer requires its `typ`.
    SchemeWeakened = "scheme-weakened", Security, "a security alternative uses a weaker scheme, or an AND set lost a scheme";
    /// Security: a scope a caller had to present is no longer required.
    ScopeRemoved = "scope-removed", Security, "a required OAuth2/OIDC scope was dropped";
    /// Security: the roles admit a weaker role than before, or were removed.
    RoleWeakened = "role-weakened", Security, "the operation admits a weaker role, or no longer requires one";
    /// Security: `x-rampart.public: true` on an operation that required authentication.
    PublicAdded = "public-added", Security, "an operation that required authentication is marked public";
    /// Security: one-time tokens (`replay: reject`) are no longer enforced,
    /// on an operation or on a JWT scheme.
    ReplayAllowed = "replay-allowed", Security, "tokens may be replayed where they were one-time before";
    /// Security: `rate-exact` was dropped from a rate-limited operation, so
    /// its quota may be leased ahead (and overshoot by instances × lease).
    RateExactRemoved = "rate-exact-removed", Security, "a quota that was never leased may now be leased ahead";
    /// Security: a higher (or no) rate limit, per operation (effective) or as the top-level default.
    RateRaised = "rate-raised", Security, "a rate limit was raised or removed";
    /// Security: a larger burst.
    BurstRaised = "burst-raised", Security, "a burst was raised";
    /// Security: `[lockout]` allows more failures, counts them over a shorter window, or is off.
    LockoutLoosened = "lockout-loosened", Security, "the brute-force lockout allows more failures, over a shorter window, or is off";
    /// Security: a larger request body limit.
    BodyLimitRaised = "body-limit-raised", Security, "a request body limit was raised";
    /// Security: CORS admits more origins, credentials, headers, a longer preflight cache, or `public`.
    CorsWidened = "cors-widened", Security, "the CORS policy admits more";
    /// Security: a sunset moved earlier.
    SunsetEarlier = "sunset-earlier", Security, "a sunset moved earlier";
    /// Security: an announced sunset is gone.
    SunsetRemovedAfterAnnouncement = "sunset-removed-after-announcement", Security, "an announced sunset was removed";
    /// Security: a field or header redacted from audit logs no longer is.
    RedactionRemoved = "redaction-removed", Security, "a field or header is no longer marked sensitive (redacted)";
    /// Security: a parameter or request body accepts values it refused before.
    ValidationLoosened = "validation-loosened", Security, "input validation of a parameter or request body was loosened";
    /// Security: a new operation that admits anonymous callers.
    OperationAddedUnsecured = "operation-added-unsecured", Security, "a new operation admits anonymous callers";

    /// Breaking: authentication is now required where anonymous callers were admitted.
    AuthAdded = "auth-added", Breaking, "an operation that admitted anonymous callers requires authentication";
    /// Breaking: callers of an old security alternative are no longer
    /// admitted (it was removed, replaced, or its AND set gained a scheme).
    AlternativeRemoved = "alternative-removed", Breaking, "callers of a former security alternative are no longer admitted";
    /// Breaking: an alternative requires a scope it did not.
    ScopeAdded = "scope-added", Breaking, "an alternative requires an additional scope";
    /// Breaking: a role that was admitted is not any more (a stronger role is required).
    RoleStrengthened = "role-strengthened", Breaking, "the operation requires a stronger role";
    /// Breaking: the operation is gone.
    OperationRemoved = "operation-removed", Breaking, "an operation was removed";
    /// Breaking: a new required parameter, or an optional one made required.
    RequiredParameterAdded = "required-parameter-added", Breaking, "a parameter is newly required";
    /// Breaking: a parameter was removed.
    ParameterRemoved = "parameter-removed", Breaking, "a parameter was removed";
    /// Breaking: a request body is newly required.
    RequestBodyRequiredAdded = "request-body-required-added", Breaking, "a request body is newly required";
    /// Breaking: a documented success (2xx) response was removed.
    ResponseRemoved = "response-removed", Breaking, "a documented success response was removed";
    /// Breaking: validation refuses values it accepted before.
    ValidationTightened = "validation-tightened", Breaking, "input validation of a parameter or request body was tightened";
    /// Breaking: a smaller request body limit.
    BodyLimitLowered = "body-limit-lowered", Breaking, "a request body limit was lowered";
    /// Breaking: CORS admits fewer origins, no credentials, or fewer headers.
    CorsNarrowed = "cors-narrowed", Breaking, "the CORS policy admits less";

    /// Info: a lower (or new) rate limit.
    RateLowered = "rate-lowered", Info, "a rate limit was lowered or added";
    /// Info: a smaller burst.
    BurstLowered = "burst-lowered", Info, "a burst was lowered";
    /// Info: a stricter lockout.
    LockoutTightened = "lockout-tightened", Info, "the brute-force lockout is stricter";
    /// Info: a sunset moved later.
    SunsetLater = "sunset-later", Info, "a sunset moved later";
    /// Info: a sunset was announced.
    SunsetAnnounced = "sunset-announced", Info, "a sunset was announced";
    /// Info: a new security alternative as strong as the old ones.
    AlternativeAdded = "alternative-added", Info, "a new security alternative, as strong as the existing ones";
    /// Info: a new operation that requires authentication.
    OperationAdded = "operation-added", Info, "a new operation that requires authentication";
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// One operation, matched by method and path template.
    Operation {
        /// The operationId (NEW's, or OLD's when removed).
        id: String,
        /// Upper-case method.
        method: String,
        /// Path template as written in NEW (OLD when removed).
        path: String,
    },
    /// The top-level `x-rampart` defaults.
    Default,
    /// The top-level CORS policy.
    Cors,
    /// The fields and headers redacted from audit logs.
    Redaction,
    /// The `[lockout]` table of the configuration.
    Lockout,
    /// A security scheme's own settings, as `(scheme NAME)`.
    Scheme(String),
}

impl Subject {
    /// The operationId, or `(default)`, `(cors)`, `(redaction)`, `(lockout)`.
    pub(crate) fn operation(&self) -> &str {
        match self {
            Subject::Operation { id, .. } => id,
            Subject::Default => "(default)",
            Subject::Cors => "(cors)",
            Subject::Redaction => "(redaction)",
            Subject::Lockout => "(lockout)",
            Subject::Scheme(label) => label,
        }
    }

    /// The subject of a scheme's settings.
    pub(crate) fn scheme(name: &str) -> Subject {
        Subject::Scheme(format!("(scheme {name})"))
    }

    /// `GET /pets (listPets)`, or the bracketed name.
    pub(crate) fn label(&self) -> String {
        match self {
            Subject::Operation { id, method, path } => format!("{method} {path} ({id})"),
            other => other.operation().to_owned(),
        }
    }

    /// Whether an allowlist entry's `operation` names this subject: the
    /// operationId, `METHOD /path` (method in any case), or the bracketed name.
    pub(crate) fn matches(&self, operation: &str) -> bool {
        let operation = operation.trim();
        if operation == self.operation() {
            return true;
        }
        match self {
            Subject::Operation { method, path, .. } => operation
                .split_once(char::is_whitespace)
                .is_some_and(|(m, p)| m.eq_ignore_ascii_case(method) && p.trim() == path),
            _ => false,
        }
    }
}

/// A position: the file as named on the command line, and where in the
/// repository it is (for GitHub annotations and SARIF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    /// `specs/api.yaml`, or `git:REV:specs/api.yaml`.
    pub(crate) file: String,
    /// The path in the working tree (`git:REV:` removed).
    pub(crate) artifact: String,
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column.
    pub(crate) column: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// What changed.
    pub(crate) kind: Kind,
    /// Where in the API.
    pub(crate) subject: Subject,
    /// The old value, short (`100/min`, `[editor]`, `(absent)`).
    pub(crate) old: String,
    /// The new value, short.
    pub(crate) new: String,
    /// One line saying what changed, without the subject.
    pub(crate) message: String,
    /// In NEW; in OLD when what it is about is gone from NEW.
    pub(crate) at: Place,
    /// The allowlist's reason, when an entry accepts the finding.
    pub(crate) accepted: Option<String>,
}

impl Finding {
    /// The class of its kind.
    pub(crate) fn class(&self) -> Class {
        self.kind.class()
    }

    /// `GET /pets (listPets): rate raised from ... to ...`.
    pub(crate) fn headline(&self) -> String {
        format!("{}: {}", self.subject.label(), self.message)
    }
}
