//! Domain types shared by every boundary: the API wire format, the server's storage,
//! the client's cache and the TUI. Backends translate foreign formats to and from these.
//!
//! Fields that later work needs (lane, deadline, reason code, scope, escalation target)
//! are here from the start so that new screens never need a migration.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// What kind of thing was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Post,
    Channel,
    Account,
    Media,
}

/// Who filed a report. Trusted flaggers (e.g. NGO hotlines) and authorities weigh more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReporterType {
    User,
    TrustedFlagger,
    Authority,
    Automated,
}

impl ReporterType {
    pub const ALL: [ReporterType; 4] = [
        ReporterType::User,
        ReporterType::TrustedFlagger,
        ReporterType::Authority,
        ReporterType::Automated,
    ];

    /// How much one report from this source raises an item's priority.
    pub fn weight(self) -> i64 {
        match self {
            ReporterType::User => 10,
            ReporterType::Automated => 15,
            ReporterType::TrustedFlagger => 40,
            ReporterType::Authority => 50,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReporterType::User => "user",
            ReporterType::TrustedFlagger => "trusted flagger",
            ReporterType::Authority => "authority",
            ReporterType::Automated => "automated",
        }
    }
}

/// The report category an item's default reason comes from: that of its most trusted
/// source (authority, then trusted flagger, automated, user), the earliest on a tie.
pub fn leading_category<'a>(
    reports: impl IntoIterator<Item = (ReporterType, &'a str)>,
) -> Option<&'a str> {
    let mut best: Option<(i64, &str)> = None;
    for (reporter, category) in reports {
        if best.is_none_or(|(w, _)| reporter.weight() > w) {
            best = Some((reporter.weight(), category));
        }
    }
    best.map(|(_, c)| c)
}

/// A priority lane. Declared from most to least urgent: the derived `Ord` is that order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Urgent,
    Authority,
    TrustedFlagger,
    Standard,
    Appeals,
}

impl Lane {
    pub const ALL: [Lane; 5] = [
        Lane::Urgent,
        Lane::Authority,
        Lane::TrustedFlagger,
        Lane::Standard,
        Lane::Appeals,
    ];

    /// The lane a report lands in when the reporter did not name one.
    pub fn for_reporter(reporter: ReporterType) -> Lane {
        match reporter {
            ReporterType::Authority => Lane::Authority,
            ReporterType::TrustedFlagger => Lane::TrustedFlagger,
            ReporterType::User | ReporterType::Automated => Lane::Standard,
        }
    }

    /// Priority every item in this lane starts from.
    pub fn base_priority(self) -> i64 {
        match self {
            Lane::Urgent => 400,
            Lane::Authority => 200,
            Lane::TrustedFlagger => 150,
            Lane::Standard => 0,
            Lane::Appeals => 0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Urgent => "urgent",
            Lane::Authority => "authority",
            Lane::TrustedFlagger => "trusted_flagger",
            Lane::Standard => "standard",
            Lane::Appeals => "appeals",
        }
    }

    pub fn parse(s: &str) -> Option<Lane> {
        Lane::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Where an item stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Waiting for a moderator.
    Open,
    /// Sent up to a higher tier; waits there.
    Escalated,
    /// Taken down (globally or in some countries).
    TakenDown,
    /// Reviewed and left up.
    Kept,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Open => "open",
            ReviewState::Escalated => "escalated",
            ReviewState::TakenDown => "taken_down",
            ReviewState::Kept => "kept",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewState> {
        [
            ReviewState::Open,
            ReviewState::Escalated,
            ReviewState::TakenDown,
            ReviewState::Kept,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Who an escalation goes to. Each tier is decided by the role of the same name (and admins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationTier {
    /// A senior moderator.
    Senior,
    /// The legal team: court orders, defamation, copyright disputes.
    Legal,
    /// The law-enforcement liaison: imminent harm, data preservation, authority requests.
    LawEnforcement,
    /// Child-safety specialists: CSAM, grooming, hash-list matches.
    ChildSafety,
}

impl EscalationTier {
    pub const ALL: [EscalationTier; 4] = [
        EscalationTier::Senior,
        EscalationTier::Legal,
        EscalationTier::LawEnforcement,
        EscalationTier::ChildSafety,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EscalationTier::Senior => "senior",
            EscalationTier::Legal => "legal",
            EscalationTier::LawEnforcement => "law_enforcement",
            EscalationTier::ChildSafety => "child_safety",
        }
    }

    pub fn parse(s: &str) -> Option<EscalationTier> {
        EscalationTier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            EscalationTier::Senior => "senior moderator",
            EscalationTier::Legal => "legal",
            EscalationTier::LawEnforcement => "law-enforcement liaison",
            EscalationTier::ChildSafety => "child-safety specialist",
        }
    }

    /// Whether escalating to this tier needs a note: every tier past the senior moderator
    /// works from the note, not from the queue's context.
    pub fn needs_note(self) -> bool {
        self != EscalationTier::Senior
    }

    /// Where `e` sends an item escalated to `current` (an open item goes to a senior):
    /// senior to legal, legal and child safety to the law-enforcement liaison, which is the
    /// last tier.
    pub fn next(current: Option<EscalationTier>) -> Option<EscalationTier> {
        match current {
            None => Some(EscalationTier::Senior),
            Some(EscalationTier::Senior) => Some(EscalationTier::Legal),
            Some(EscalationTier::Legal | EscalationTier::ChildSafety) => {
                Some(EscalationTier::LawEnforcement)
            }
            Some(EscalationTier::LawEnforcement) => None,
        }
    }
}

/// Where a take down applies: everywhere, or only in the listed ISO 3166-1 alpha-2 countries.
/// On the wire: the string `"global"` or an array of country codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    #[default]
    Global,
    Countries(Vec<String>),
}

impl Scope {
    pub fn label(&self) -> String {
        match self {
            Scope::Global => "global".to_string(),
            Scope::Countries(cs) => cs.join(","),
        }
    }
}

impl utoipa::PartialSchema for Scope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .description(Some(
                "Where a take down applies: \"global\", or ISO 3166-1 alpha-2 country codes",
            ))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["global"])),
            )
            .item(
                ArrayBuilder::new().min_items(Some(1)).items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^[A-Za-z]{2}$")),
                ),
            )
            .into()
    }
}

impl utoipa::ToSchema for Scope {}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scope::Global => s.serialize_str("global"),
            Scope::Countries(cs) => cs.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Word(String),
            List(Vec<String>),
        }
        match Wire::deserialize(d)? {
            Wire::Word(w) if w == "global" => Ok(Scope::Global),
            Wire::Word(w) => Err(serde::de::Error::custom(format!(
                "scope must be \"global\" or a list of country codes, not {w:?}"
            ))),
            Wire::List(cs) => {
                let mut codes = Vec::with_capacity(cs.len());
                for c in cs {
                    let valid = c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic());
                    if !valid {
                        return Err(serde::de::Error::custom(format!(
                            "{c:?} is not an ISO 3166-1 alpha-2 country code"
                        )));
                    }
                    codes.push(c.to_ascii_uppercase());
                }
                if codes.is_empty() {
                    return Err(serde::de::Error::custom(
                        "a country scope needs at least one country",
                    ));
                }
                codes.sort();
                codes.dedup();
                Ok(Scope::Countries(codes))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Author {
    #[schema(max_length = 256)]
    pub id: String,
    #[serde(default)]
    #[schema(max_length = 256)]
    pub handle: Option<String>,
    /// When the account was made, as the platform knows it: the item view shows its age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

/// A piece of media attached to reported content: a description, where a hash list matched
/// the name of the match, and, when the server keeps its bytes, the `id` to fetch them by
/// (`GET /v1/items/{item}/media/{id}`). An item never carries the bytes themselves; an
/// intake's report hands them over once, in `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// image, video, audio, file…
    #[schema(max_length = 64)]
    pub kind: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Set when the media matched a known-hash list (e.g. "csam-hashlist").
    #[serde(default)]
    #[schema(max_length = 256)]
    pub hash_match: Option<String>,
    /// Set by the server when it keeps the bytes: their SHA-256 in hex. Refused in a report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, read_only)]
    pub id: Option<String>,
    /// What the server found the bytes to be (`image/png`, `image/jpeg`, `image/gif`,
    /// `image/webp`), read from the bytes themselves. Refused in a report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 32, read_only)]
    pub content_type: Option<String>,
    /// In a report only, and from an intake (an admin token or `modq serve import`) only: the
    /// image, base64 (standard alphabet, padded), at most 1 MiB once decoded. The server keeps
    /// it apart and answers the item with `id` and `content_type` instead.
    /// (`modq-image`: the bytes must be one of those images, which no JSON schema can say.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1398104, format = "modq-image", write_only)]
    pub data: Option<String>,
}

/// The content a report is about, as the platform describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    // Not blank; at most 256 characters: the schema (and its description) is NotBlankId's.
    #[schema(value_type = NotBlankId, inline)]
    pub id: String,
    pub kind: ItemKind,
    /// At most 65536 characters.
    #[serde(default)]
    #[schema(max_length = 65536)]
    pub text: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub language: Option<String>,
    #[serde(default)]
    #[schema(max_items = 300, value_type = Vec<CountryName>)]
    pub countries: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 32)]
    pub media: Vec<Media>,
    /// The conversation around the content, where the platform has one (taken from an
    /// intake only, like the author).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Thread>,
}

/// The conversation around an item: what it replies to and the few messages before and
/// after it. Every text in it is untrusted, like the item's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Thread {
    /// The message the item replies to.
    #[serde(default)]
    pub parent: Option<ThreadMessage>,
    /// Messages just before the item, oldest first; at most 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub before: Vec<ThreadMessage>,
    /// Messages just after it, oldest first; at most 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub after: Vec<ThreadMessage>,
}

/// One message of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadMessage {
    // Not blank; at most 256 characters: the schema (and its description) is NotBlankId's.
    #[schema(value_type = NotBlankId, inline)]
    pub id: String,
    #[serde(default)]
    pub author: Option<Author>,
    /// At most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub text: Option<String>,
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// A country named by a report: an ISO 3166-1 alpha-2 code, in upper or lower case (the
/// schema lists them, so a fuzzer and a client know exactly what the server takes).
struct CountryName;

impl utoipa::PartialSchema for CountryName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let codes = ISO_3166_ALPHA_2
            .iter()
            .map(|c| (*c).to_string())
            .chain(ISO_3166_ALPHA_2.iter().map(|c| c.to_ascii_lowercase()));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An ISO 3166-1 alpha-2 country code, upper or lower case",
            ))
            .enum_values(Some(codes))
            .into()
    }
}

impl utoipa::ToSchema for CountryName {}

/// ISO 3166-1 alpha-2, sorted (assigned codes, and XK).
pub const ISO_3166_ALPHA_2: [&str; 250] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// `POST /v1/reports`: one report about one piece of content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub subject: Subject,
    #[serde(default = "default_reporter")]
    pub reporter_type: ReporterType,
    /// Reason category, e.g. spam, hate, csam; not blank, at most 128 characters.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub category: String,
    /// At most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub comment: Option<String>,
    /// Defaults from the reporter type when absent.
    #[serde(default)]
    pub lane: Option<Lane>,
    #[serde(default)]
    pub deadline: Option<DateTime<Utc>>,
    /// When the report was filed; the server's clock when absent.
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// The platform's user who reported, from the platform's intake (an admin token or an
    /// import; ignored from other tokens): whom support resources are sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reporter: Option<ReporterAccount>,
}

/// The user behind a report, as the platform names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterAccount {
    // Not blank; at most 256 characters: the schema (and its description) is NotBlankId's.
    #[schema(value_type = NotBlankId, inline)]
    pub id: String,
    /// The country the user is in, ISO 3166-1 alpha-2: which helplines they are sent.
    #[serde(default)]
    #[schema(value_type = Option<CountryName>)]
    pub country: Option<String>,
}

fn default_reporter() -> ReporterType {
    ReporterType::User
}

/// A report as stored on an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub reporter_type: ReporterType,
    pub category: String,
    #[serde(default)]
    pub comment: Option<String>,
    pub lane: Lane,
    #[serde(default)]
    pub deadline: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// What happened to an item, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEvent {
    Reported,
    TakeDown,
    Keep,
    Escalate,
    Reversal,
    Note,
    /// An appeal's outcome: the decision appealed stands.
    Upheld,
    /// An appeal's outcome: the decision appealed is undone.
    Overturned,
    /// Support resources were sent to the item's reporters.
    SupportSent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// Token name of the moderator, or the reporter type for reports.
    pub actor: String,
    pub event: HistoryEvent,
    #[serde(default)]
    pub reason_code: Option<String>,
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub escalation_target: Option<EscalationTier>,
    /// Decisions: the escalation tier whose role decides the item after this one (the tier
    /// it was escalated to, or the one that decided it); absent: any moderator. Notes: the
    /// tier the item was with when the note was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<EscalationTier>,
    /// Set when this entry's note is for one restricted tier (child_safety or
    /// law_enforcement) and admins only: others get the entry without its note, or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_to: Option<EscalationTier>,
}

/// One queue item: a piece of content with every report about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub id: String,
    pub kind: ItemKind,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub media: Vec<Media>,
    pub reports: Vec<Report>,
    pub priority: i64,
    pub lane: Lane,
    #[serde(default)]
    pub deadline: Option<DateTime<Utc>>,
    pub state: ReviewState,
    /// Where a take down applies, once the item is taken down.
    #[serde(default)]
    pub restricted_in: Option<Scope>,
    #[serde(default)]
    pub escalation_target: Option<EscalationTier>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// What this platform already decided about the author's other items.
    #[serde(default)]
    pub author_record: Option<AuthorRecord>,
    /// The decisions the requesting token may make on this item now (by its role, the
    /// item's state and tier). Absent from servers that do not say; then try and see.
    #[serde(default)]
    pub allowed_actions: Option<Vec<DecisionAction>>,
    /// On reads of the queue: the moderator reviewing it now (a live lease), when that is
    /// someone other than the caller. Absent when free, or leased to the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leased_by: Option<String>,
    /// The conversation around the item (see [`Thread`]), where the platform gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Thread>,
    /// Set on an appeal item: the decision appealed and what the appellant says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<Appeal>,
    /// How the author's account stands and what the policy catalog proposes for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::account::AccountStanding>,
    /// How many reports and history entries the item has in all, with every report tallied
    /// by reporter type and category, where `reports` and `history` list only the newest (a
    /// modq server lists at most 100 reports). Absent from platforms that do not say: then
    /// the lists are all there is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<ItemTotals>,
}

impl Item {
    /// The category of the item's most trusted report (authority, then trusted flagger,
    /// automated, user), the earliest on a tie: the one the server's figures use. The server
    /// says it where it lists only an item's newest reports (a trusted flagger's report may be
    /// behind a flood of others); from a backend that does not, the listed reports give it.
    pub fn leading_category(&self) -> Option<&str> {
        if let Some(leading) = self
            .totals
            .as_ref()
            .and_then(|t| t.leading_category.as_deref())
        {
            return Some(leading);
        }
        leading_category(
            self.reports
                .iter()
                .map(|r| (r.reporter_type, r.category.as_str())),
        )
    }

    /// How many reports the item has in all, listed or not.
    pub fn report_total(&self) -> u64 {
        let listed = u64::try_from(self.reports.len()).unwrap_or(u64::MAX);
        self.totals
            .as_ref()
            .map_or(listed, |t| t.reports.max(listed))
    }

    /// Every category the item was reported in that the read names: those of the reports
    /// listed and those of the tally, which counts every report (a category can appear twice).
    pub fn reported_categories(&self) -> impl Iterator<Item = &str> {
        let tallied = self.totals.iter().flat_map(|t| &t.by_category);
        self.reports
            .iter()
            .map(|r| r.category.as_str())
            .chain(tallied.map(|c| c.category.as_str()))
    }

    /// Whether any report on the item, listed or only tallied, came from `reporter`.
    pub fn reported_by(&self, reporter: ReporterType) -> bool {
        self.reports.iter().any(|r| r.reporter_type == reporter)
            || self.totals.as_ref().is_some_and(|t| {
                t.by_reporter_type
                    .iter()
                    .any(|c| c.reporter_type == reporter && c.reports > 0)
            })
    }
}

/// An item's whole record in numbers, where a read lists only the newest of it: a post
/// reported 100,000 times reads as the newest reports and these counts, not as 10 MB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemTotals {
    /// Every report filed about the item; the item's `reports` are the newest of them.
    pub reports: u64,
    /// Every entry of its history the reader may see: reports, decisions and notes. The
    /// item's `history` holds the newest reports, the newest decisions and the newest notes,
    /// each kind capped apart (so that no flood of reports pushes a decision out).
    pub history: u64,
    /// Every report by who filed it: one row per reporter type that reported.
    #[serde(default)]
    pub by_reporter_type: Vec<ReporterTypeCount>,
    /// Every report by category, most reported first; categories whose media are never
    /// shown come before all others, then those always greyscale. At most 50 rows: a category is
    /// free text, and one row per distinct text would let reports make the read large again.
    #[serde(default)]
    pub by_category: Vec<CategoryCount>,
    /// Reports in the categories `by_category` leaves out.
    #[serde(default)]
    pub other_categories: u64,
    /// The category of the most trusted report of all (authority, then trusted flagger,
    /// automated, user), the earliest on a tie: the one a default reason and the
    /// transparency figures use. It may be a report `reports` no longer lists.
    #[serde(default)]
    pub leading_category: Option<String>,
    /// The server's own: notes kept for a restricted tier, by tier, which `history` counts
    /// until the reader's role is known (see `rules::redact_history`). Never sent.
    #[serde(skip)]
    pub restricted_notes: Vec<(EscalationTier, u64)>,
}

/// How many of an item's reports one reporter type filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReporterTypeCount {
    pub reporter_type: ReporterType,
    pub reports: u64,
}

/// How many of an item's reports name one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub reports: u64,
}

/// The author's record on this platform: their other items, by where each stands now
/// (a reversed decision no longer counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorRecord {
    pub author_id: String,
    /// Other items by this author, whatever their state.
    pub other_items: u64,
    pub taken_down: u64,
    pub kept: u64,
    pub escalated: u64,
    /// Other items still waiting for a first decision.
    pub open: u64,
}

/// An appeal against a decision (EU DSA Article 20), as it reaches the moderator deciding
/// it: the decision as it was made and the appellant's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Appeal {
    /// The appeal's number.
    pub id: i64,
    /// The item the appealed decision was made on (the appeal is an item of its own).
    pub item_id: String,
    pub decision: AppealedDecision,
    /// What the appellant says, as they wrote it (untrusted text).
    pub appellant_statement: String,
    /// The token that lodged it (the platform's intake, on the user's behalf).
    pub lodged_by: String,
    pub lodged_at: DateTime<Utc>,
    /// Absent while the appeal waits for a moderator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AppealOutcome>,
}

/// The decision an appeal is against, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppealedDecision {
    /// The audit row: `modq-` and this number is its statement's `puid`.
    pub audit_id: i64,
    pub action: DecisionAction,
    #[serde(default)]
    pub reason_code: Option<String>,
    #[serde(default)]
    pub scope: Option<Scope>,
    /// Who decided: they may not decide the appeal.
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    /// The statement of reasons the decision was given with, as exported now (absent for a
    /// take down outside the EEA, which has none).
    #[serde(default)]
    pub statement: Option<StatementOfReasons>,
}

/// How an appeal was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealVerdict {
    Upheld,
    Overturned,
}

impl AppealVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            AppealVerdict::Upheld => "upheld",
            AppealVerdict::Overturned => "overturned",
        }
    }

    pub fn parse(s: &str) -> Option<AppealVerdict> {
        [AppealVerdict::Upheld, AppealVerdict::Overturned]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppealOutcome {
    pub verdict: AppealVerdict,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// `POST /v1/appeals` body: an appeal lodged on the affected user's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    /// The decision appealed: its statement of reasons' `puid` (`modq-` and a number).
    #[schema(min_length = 1, max_length = 64)]
    pub decision: String,
    /// The appellant's statement; not blank, at most 4000 characters.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub statement: String,
}

/// `POST /v1/appeals` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppealLodged {
    pub appeal_id: i64,
    /// The queue item that carries the appeal (lane `appeals`).
    pub item_id: String,
}

/// `POST /v1/items/{id}/notes` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// Not blank; at most 2000 characters.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub note: String,
}

/// Open work in one lane, for lane tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LaneCount {
    pub lane: Lane,
    pub open: u64,
    /// Of those, how many are past their deadline.
    pub overdue: u64,
}

/// Escalated work waiting in one tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TierCount {
    pub tier: EscalationTier,
    pub escalated: u64,
}

/// `GET /v1/queue/counts` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueueCounts {
    /// Every lane, most urgent first, zeros included.
    pub lanes: Vec<LaneCount>,
    /// Every tier, zeros included.
    pub tiers: Vec<TierCount>,
    pub as_of: DateTime<Utc>,
}

/// One bar of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tally {
    pub key: String,
    pub count: u64,
}

/// `GET /v1/stats` answer: one UTC day of decisions from the audit table, net: a decision
/// since reversed counts in `reversed` only, and a reversal is not a decision of its own.
/// Every breakdown, the median and the deadlines count the decisions that stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DailyStats {
    /// YYYY-MM-DD (UTC).
    pub date: String,
    /// Decisions applied that day that stand (not reversed since).
    pub decisions: u64,
    /// Decisions applied that day and reversed since: in no other figure.
    #[serde(default)]
    pub reversed: u64,
    pub by_action: Vec<Tally>,
    /// Take downs by the reason code they cite (the platform's policy).
    #[serde(default)]
    pub by_reason_code: Vec<Tally>,
    /// Decisions by the item's leading report category (what reporters said).
    #[serde(default)]
    pub by_report_category: Vec<Tally>,
    pub by_lane: Vec<Tally>,
    /// An item shown in several countries counts once in each.
    pub by_country: Vec<Tally>,
    /// Median seconds from the item's first report to the decision.
    #[serde(default)]
    pub median_seconds_to_decision: Option<i64>,
    /// Decisions on items with a deadline, made by it.
    pub deadlines_met: u64,
    /// … and made after it.
    pub deadlines_missed: u64,
    /// Decisions per hour of the day, 24 values.
    pub by_hour: Vec<u64>,
}

impl DailyStats {
    /// The median as a person reads it: `2 min 10 s`.
    pub fn median_to_decision(&self) -> Option<String> {
        self.median_seconds_to_decision.map(human_duration)
    }
}

/// `45 s`, `2 min 10 s`, `3 h 20 min`, `2 d 4 h`: two units at most, the larger first.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `GET /v1/queue` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<Item>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    TakeDown,
    Keep,
    Escalate,
    /// Undo an applied decision; `reverses` names its idempotency key.
    Reverse,
    /// On an appeal: the decision appealed stands.
    Uphold,
    /// On an appeal: the decision appealed is undone (the content is restored).
    Overturn,
    /// Send the item's reporters the support resources for their country (self-harm items
    /// only). Leaves the item as it is; a message sent is not taken back.
    SendSupport,
}

impl DecisionAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionAction::TakeDown => "take_down",
            DecisionAction::Keep => "keep",
            DecisionAction::Escalate => "escalate",
            DecisionAction::Reverse => "reverse",
            DecisionAction::Uphold => "uphold",
            DecisionAction::Overturn => "overturn",
            DecisionAction::SendSupport => "send_support",
        }
    }

    /// Whether this action decides an appeal (and only an appeal).
    pub fn decides_appeal(self) -> bool {
        matches!(self, DecisionAction::Uphold | DecisionAction::Overturn)
    }

    pub fn label(self) -> &'static str {
        match self {
            DecisionAction::TakeDown => "take down",
            DecisionAction::Keep => "keep",
            DecisionAction::Escalate => "escalate",
            DecisionAction::Reverse => "reverse",
            DecisionAction::Uphold => "uphold",
            DecisionAction::Overturn => "overturn",
            DecisionAction::SendSupport => "send support resources",
        }
    }

    /// Whether it decides the item (a support message leaves it to be decided).
    pub fn decides(self) -> bool {
        self != DecisionAction::SendSupport
    }
}

/// One moderator decision, as journaled in the client's outbox and sent to the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Made by the client; the server applies each key at most once. A blank key, or one
    /// over 256 characters, is answered `invalid` (the rest of the batch still applies).
    pub idempotency_key: String,
    pub item_id: String,
    pub action: DecisionAction,
    #[serde(default)]
    pub reason_code: Option<String>,
    /// Over 2000 characters, the decision is answered `invalid`.
    #[serde(default)]
    pub note: Option<String>,
    /// For take downs; global when absent.
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub escalation_target: Option<EscalationTier>,
    /// For `reverse`: the idempotency key of the decision to undo.
    #[serde(default)]
    pub reverses: Option<String>,
    /// When the moderator pressed the key, by their clock. The server keeps it within a day
    /// of its own clock.
    pub decided_at: DateTime<Utc>,
    /// How the moderator took this decision; `single` when absent (clients before it said).
    /// A statement of reasons says it truthfully: a decision on items a filter chose is
    /// partly automated.
    #[serde(default)]
    pub method: DecisionMethod,
    /// For take downs: a measure on the author's account that comes with it (a strike, a
    /// restriction or suspension for some days, a ban). Reversing the take down lifts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub account: Option<crate::account::AccountMeasure>,
}

impl Decision {
    /// The decision with nothing beside its action: no reason, note, scope, tier, reversal
    /// or account measure, taken on the one item open.
    pub fn bare(
        idempotency_key: &str,
        item_id: &str,
        action: DecisionAction,
        decided_at: DateTime<Utc>,
    ) -> Decision {
        Decision {
            idempotency_key: idempotency_key.to_owned(),
            item_id: item_id.to_owned(),
            action,
            reason_code: None,
            note: None,
            scope: None,
            escalation_target: None,
            reverses: None,
            decided_at,
            method: DecisionMethod::Single,
            account: None,
        }
    }
}

/// How a decision was taken: on the one item the moderator had open, or for many at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMethod {
    /// The item the moderator was looking at.
    #[default]
    Single,
    /// One of several items the moderator tagged one by one in the list.
    Tagged,
    /// One of a range of the list the moderator marked (`V`).
    Range,
    /// One of every item matching a filter (`*`), most of them never opened.
    Filter,
    /// One of the items found similar to another (`S`: same author, link or text).
    Similar,
}

impl DecisionMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionMethod::Single => "single",
            DecisionMethod::Tagged => "tagged",
            DecisionMethod::Range => "range",
            DecisionMethod::Filter => "filter",
            DecisionMethod::Similar => "similar",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionMethod> {
        [
            DecisionMethod::Single,
            DecisionMethod::Tagged,
            DecisionMethod::Range,
            DecisionMethod::Filter,
            DecisionMethod::Similar,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Whether a machine chose the items: the moderator chose the action and a rule, not
    /// each item, so the decision is partly automated.
    pub fn chosen_by_rule(self) -> bool {
        matches!(self, DecisionMethod::Filter | DecisionMethod::Similar)
    }
}

/// `POST /v1/decisions` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBatch {
    /// At most 5000.
    #[schema(max_items = 5000)]
    pub decisions: Vec<Decision>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Recorded now.
    Applied,
    /// This idempotency key was applied before; nothing changed.
    Duplicate,
    /// The item is no longer in a state this decision applies to.
    Conflict,
    NotFound,
    /// The decision itself is malformed (e.g. a reversal of an unknown key).
    Invalid,
}

impl DecisionOutcome {
    /// Whether the server now holds this decision (so the client may forget it).
    pub fn is_settled_ok(self) -> bool {
        matches!(self, DecisionOutcome::Applied | DecisionOutcome::Duplicate)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionOutcome::Applied => "applied",
            DecisionOutcome::Duplicate => "duplicate",
            DecisionOutcome::Conflict => "conflict",
            DecisionOutcome::NotFound => "not_found",
            DecisionOutcome::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionResult {
    pub idempotency_key: String,
    pub outcome: DecisionOutcome,
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /v1/decisions` answer: one result per decision, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionResults {
    pub results: Vec<DecisionResult>,
}

/// `POST /v1/reports` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportAccepted {
    pub item_id: String,
    pub report_id: i64,
    /// Whether the report merged into an item that already existed.
    pub merged: bool,
    pub priority: i64,
}

/// The review states a claim or a selection walks; decided items are read with
/// `GET /v1/queue`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum ClaimableState {
    Open,
    Escalated,
}

/// `POST /v1/queue/claim`: the next page of the queue, leased to the caller. Items leased to
/// someone else (and not yet expired) are skipped, so two moderators never review one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    #[serde(default)]
    pub lane: Option<Lane>,
    /// Defaults to `open`.
    #[serde(default)]
    #[schema(value_type = Option<ClaimableState>)]
    pub state: Option<ReviewState>,
    /// With `state: escalated`: only this tier. Absent: the tier of the caller's role (all
    /// tiers for admins).
    #[serde(default)]
    pub tier: Option<EscalationTier>,
    /// `next_cursor` of the previous claim, unchanged.
    #[serde(default)]
    #[schema(format = "modq-cursor")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 500; 50 when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// How long the lease lasts unless renewed, 10 to 3600 seconds; 300 when absent.
    #[serde(default)]
    #[schema(minimum = 10, maximum = 3600)]
    pub lease_seconds: Option<u32>,
    /// Only items matching this filter (docs/api.md, "Filters"); all when absent.
    #[serde(default)]
    #[schema(format = "modq-filter", max_length = 1024)]
    pub q: Option<String>,
    /// The queue order; `priority` when absent. A cursor only continues its own order.
    #[serde(default)]
    pub sort: Option<crate::query::Sort>,
    /// The most bytes of JSON the caller takes in one answer: the page ends early within it
    /// (and within the server's own budget), at least one item, and leases only what it
    /// gives. The server's budget when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1024, maximum = 4294967296_u64)]
    pub max_bytes: Option<u64>,
}

/// `POST /v1/queue/claim` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimedPage {
    pub items: Vec<Item>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// When the leases on these items run out unless renewed.
    pub lease_expires_at: DateTime<Utc>,
    /// The lease length the server granted, in seconds.
    pub lease_seconds: u32,
    /// Live leases the caller holds now, these included.
    #[serde(default)]
    pub held: u32,
    /// The most live leases one holder may have on this server.
    #[serde(default)]
    pub max_leases: u32,
    /// Why fewer items were leased than asked for, when a cap did it: `max_leases` (the
    /// caller holds as many as one may), `fair_share` (urgent or authority items were left
    /// for the other active moderators).
    #[serde(default)]
    pub limited_by: Vec<ClaimCap>,
}

/// A server cap that cut a claim short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimCap {
    /// The caller holds as many live leases as one holder may (`modq serve --max-leases`).
    MaxLeases,
    /// The caller holds its fair share of the urgent or authority lane: the rest is left for
    /// the other active moderators.
    FairShare,
}

// The schema of the ids an intake sends (a subject's, a thread message's, a reporter's),
// said once: each such field inlines it, description and all. The pattern asks for one
// character that is not white space.
/// Not blank; at most 256 characters.
#[derive(ToSchema)]
#[schema(
    min_length = 1,
    max_length = 256,
    pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)]
#[allow(dead_code)]
struct NotBlankId(String);

/// An item's id as a request names it: not blank (an empty id names no item, and in a path
/// it names another route).
#[derive(ToSchema)]
#[schema(min_length = 1, max_length = 256)]
#[allow(dead_code)]
struct NamedItemId(String);

/// `POST /v1/leases/claim` answer: which items are now the caller's, and why the others
/// are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseGrant {
    /// Now leased to the caller (new leases, and the caller's own extended), in request order.
    pub leased: Vec<String>,
    pub refused: Vec<LeaseRefusal>,
    pub lease_expires_at: DateTime<Utc>,
    pub lease_seconds: u32,
    /// Live leases the caller holds now.
    pub held: u32,
    /// The most live leases one holder may have on this server.
    pub max_leases: u32,
}

/// One item a lease claim did not get, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseRefusal {
    pub item_id: String,
    pub reason: RefusalReason,
    /// With `leased_elsewhere`: who holds it.
    #[serde(default)]
    pub leased_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Another moderator holds a live lease on it.
    LeasedElsewhere,
    /// The caller holds as many live leases as one holder may; ask again after deciding.
    MaxLeases,
    /// The caller holds its fair share of this item's lane while others are active.
    FairShare,
    /// Decided, unknown, or escalated to a tier the caller's role does not decide.
    NotClaimable,
}

/// `POST /v1/queue/select`: the ids of every item matching a filter, to act on them in bulk
/// (a moderator's `*`), including items not yet paged in. Leases nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectRequest {
    #[serde(default)]
    pub lane: Option<Lane>,
    /// Defaults to `open`.
    #[serde(default)]
    #[schema(value_type = Option<ClaimableState>)]
    pub state: Option<ReviewState>,
    #[serde(default)]
    #[schema(format = "modq-filter", max_length = 1024)]
    pub q: Option<String>,
    #[serde(default)]
    pub sort: Option<crate::query::Sort>,
    /// At most this many ids, 1 to 200,000; 200,000 when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 200000)]
    pub limit: Option<u32>,
}

/// `POST /v1/queue/select` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Selection {
    /// Matching items, in queue order.
    pub ids: Vec<String>,
    /// Matching items left out because another moderator holds a live lease on them.
    pub leased_elsewhere: usize,
    /// More items matched than `limit` (or the server's cap) allowed.
    pub truncated: bool,
}

/// `POST /v1/leases/claim`, `POST /v1/leases/renew` and `POST /v1/leases/release` body:
/// the items to lease (the ones a moderator is looking at and about to reach), renew or
/// hand back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// At most 1000, none blank.
    #[schema(max_items = 1000, value_type = Vec<NamedItemId>)]
    pub item_ids: Vec<String>,
    /// For claims and renewals, 10 to 3600 seconds (300 when absent), then cut to the
    /// server's longest lease.
    #[serde(default)]
    #[schema(minimum = 10, maximum = 3600)]
    pub lease_seconds: Option<u32>,
}

/// `POST /v1/leases/renew` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseRenewal {
    /// Still the caller's, now until `lease_expires_at`.
    pub renewed: Vec<String>,
    /// No longer the caller's to review: leased to someone else, decided, or unknown.
    pub lost: Vec<String>,
    pub lease_expires_at: DateTime<Utc>,
}

/// `POST /v1/leases/release` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseRelease {
    pub released: usize,
}

/// Every API error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Machine-readable: unauthorized, bad_request, not_found, internal…
    pub error: String,
    pub message: String,
}

/// Roles a token can have. A moderator decides open items; each tier role also decides
/// items escalated to its tier; an admin decides everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Moderator,
    Senior,
    Legal,
    LawEnforcement,
    ChildSafety,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Moderator,
        Role::Senior,
        Role::Legal,
        Role::LawEnforcement,
        Role::ChildSafety,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Moderator => "moderator",
            Role::Senior => "senior",
            Role::Legal => "legal",
            Role::LawEnforcement => "law_enforcement",
            Role::ChildSafety => "child_safety",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The escalation tier this role works; admins work them all, moderators none.
    pub fn tier(self) -> Option<EscalationTier> {
        match self {
            Role::Moderator | Role::Admin => None,
            Role::Senior => Some(EscalationTier::Senior),
            Role::Legal => Some(EscalationTier::Legal),
            Role::LawEnforcement => Some(EscalationTier::LawEnforcement),
            Role::ChildSafety => Some(EscalationTier::ChildSafety),
        }
    }

    /// Whether this role may claim and decide items escalated to `tier`.
    pub fn decides(self, tier: EscalationTier) -> bool {
        self == Role::Admin || self.tier() == Some(tier)
    }

    /// Every role above a moderator: may reverse others' decisions and export statements.
    pub fn is_lead(self) -> bool {
        self != Role::Moderator
    }
}

/// `GET /v1/me`: who the token belongs to, so the client can name its profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
}

/// A statement of reasons for one take down, in the EU DSA Transparency Database's
/// submission format (field names and values as its API takes them). It carries no
/// personal data: no content text, no user names, no moderator notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementOfReasons {
    /// Platform unique id: `modq-` and the take down's audit row number.
    pub puid: String,
    /// `DECISION_VISIBILITY_CONTENT_REMOVED` (global) or `_CONTENT_DISABLED` (some countries).
    pub decision_visibility: Vec<String>,
    /// `DECISION_GROUND_ILLEGAL_CONTENT` or `DECISION_GROUND_INCOMPATIBLE_CONTENT`.
    pub decision_ground: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_legal_ground: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_ground: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_explanation: Option<String>,
    pub decision_facts: String,
    /// `CONTENT_TYPE_*` values.
    pub content_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type_other: Option<String>,
    /// A `STATEMENT_CATEGORY_*` value.
    pub category: String,
    /// `KEYWORD_*` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_specification: Vec<String>,
    /// ISO 639-1, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// EU and EEA country codes where the decision applies.
    pub territorial_scope: Vec<String>,
    /// YYYY-MM-DD: the earliest report (modq does not know when the content was posted).
    pub content_date: String,
    /// YYYY-MM-DD: when the take down was applied.
    pub application_date: String,
    /// `SOURCE_ARTICLE_16`, `SOURCE_TRUSTED_FLAGGER` or `SOURCE_VOLUNTARY`.
    pub source_type: String,
    /// `Yes` or `No`.
    pub automated_detection: String,
    /// `AUTOMATED_DECISION_NOT_AUTOMATED` for a decision on an item a person picked;
    /// `AUTOMATED_DECISION_PARTIALLY` when a filter or similarity picked it for a bulk action.
    pub automated_decision: String,
    /// YYYY-MM-DD: when the restriction ended, for a take down overturned on appeal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_visibility_restriction: Option<String>,
    /// With an account suspension: `DECISION_ACCOUNT_SUSPENDED`; with a ban:
    /// `DECISION_ACCOUNT_TERMINATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_account: Option<String>,
    /// With a restriction of reach: `DECISION_PROVISION_PARTIAL_SUSPENSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_provision: Option<String>,
    /// YYYY-MM-DD: when a suspension ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_account_restriction: Option<String>,
    /// YYYY-MM-DD: when a restriction of reach ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_service_restriction: Option<String>,
}

/// `GET /v1/statements` answer: one page of statements; `{"statements": [...]}` alone is the
/// body the Transparency Database's batch endpoint takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Statements {
    pub statements: Vec<StatementOfReasons>,
    /// Pass back as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_round_trips_both_shapes() {
        let g: Scope = serde_json::from_str("\"global\"").unwrap();
        assert_eq!(g, Scope::Global);
        assert_eq!(serde_json::to_string(&g).unwrap(), "\"global\"");
        let c: Scope = serde_json::from_str(r#"["de","AT","DE"]"#).unwrap();
        assert_eq!(c, Scope::Countries(vec!["AT".into(), "DE".into()]));
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"["AT","DE"]"#);
    }

    #[test]
    fn scope_rejects_nonsense() {
        assert!(serde_json::from_str::<Scope>("\"everywhere\"").is_err());
        assert!(serde_json::from_str::<Scope>(r#"["Germany"]"#).is_err());
        assert!(serde_json::from_str::<Scope>("[]").is_err());
    }

    #[test]
    fn lanes_order_most_urgent_first() {
        let mut lanes = vec![Lane::Standard, Lane::Urgent, Lane::Appeals, Lane::Authority];
        lanes.sort();
        assert_eq!(
            lanes,
            vec![Lane::Urgent, Lane::Authority, Lane::Standard, Lane::Appeals]
        );
    }
}
