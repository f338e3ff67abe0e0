//! HTML → text: the page's main text (boilerplate removed), or all of its visible text.
//!
//! Main text, in four steps over the [`Dom`]:
//! 1. **Prune** what is never article text: `nav`, `aside`, `footer`, `header`, forms'
//!    controls, hidden elements (attribute, inline style, or a visibility class such as
//!    `hidden`/`sr-only` that no responsive class undoes), ARIA boilerplate roles, and
//!    elements whose `class`/`id` holds, as whole words (split at `-`, `_`, camel case),
//!    sidebar, comments, share bar, related links, cookie banner, … (unless it also says
//!    article/content/body/main, as in `article-sidebar-content`). `overflow-hidden` is not
//!    hidden and `elementor-widget-container` not a widget. A class/id word never removes
//!    an element holding 60% or more of the page's `<p>` text (nor does `<aside>` or a hidden
//!    element: a drawer or deferred block that scripts open): there it names a layout
//!    (`sidebar-container` around the article). When `<noscript>` holds more text than the
//!    rest of the page (script-rendered forums), it is read as the page.
//! 2. **Score** containers like Readability: every paragraph-like block with 25+ characters
//!    adds `1 + commas + min(len/100, 3)` to its parent, half to its grandparent, less further
//!    up; containers start from a tag prior and a `class`/`id` prior (strong for
//!    `itemprop=articleBody`, `article-body`, `entry-content`, `story-body`, …); scores are
//!    scaled by `1 − link density`. Code (`<pre>`) counts at most 3 commas. A link that
//!    wraps block content (a heading, a paragraph: a listing's card) is content, not
//!    navigation, for link density.
//! 3. **Select** the best container, plus its siblings that score near it or are clean
//!    paragraphs (text density: long, few links); or, when the container or an ancestor is
//!    one of a series of like elements that read as text (posts of a thread, sections of
//!    one template: same tag and first class name without its numbered words, a name made
//!    mostly of numbered words being a generated one), the series holding the most text.
//!    When the choice holds under `SPREAD_SHARE` of the pruned page's non-link text and
//!    neither markup (`<article>`, `articleBody`, a strong class) nor the page's one `<h1>`
//!    inside it says it is the article, the text is spread over unlike sections (service
//!    and landing pages): the pruned page is taken. Inside such markup, a choice under
//!    `SPREAD_SHARE` of the marked element is one of its sections: the element is taken.
//! 4. **Linearize** it into blocks, one per line, dropping blocks made mostly of links (unless
//!    they are most of the content: a listing, an index), stock boilerplate lines
//!    ("Advertisement", "Share this article", …), headings and labels over nothing after the
//!    last paragraph, and second copies of long lines (signatures, repeated signup boxes).
//!
//! Hidden content that a click shows is read as shown: tab panels and the panels disclosure
//! buttons control (`aria-controls`), besides React's streamed segments ([`crate::dom`]).
//!
//! When words outside `SURE_NEGATIVE` (`banner`, `promo`, `notice`, …: words some
//! templates give their content sections) removed elements, the steps run again pruning by
//! the sure words only, and a result `RELAX_FACTOR` times longer wins. If the result is
//! under [`MIN_MAIN_CHARS`], the class/id pruning is relaxed, then the whole pruned body is
//! used: short pages keep their text rather than losing it.

use crate::dom::{flags, Dom, Kind, NodeId, T};

/// Below this many characters the main-text result is distrusted and a wider net is cast.
pub const MIN_MAIN_CHARS: usize = 250;

/// A class/id word, `<aside>` or hiding never removes an element holding this percentage of
/// the page's `<p>` text or more: there it names a layout, not boilerplate.
const LAYOUT_PROSE_PERCENT: u64 = 60;

/// Under this share of the pruned page's non-link text, an unmarked choice gives way to the
/// pruned page.
const SPREAD_SHARE: f64 = 0.6;

/// Without class/id pruning, a text this many times longer replaces the pruned one.
const RELAX_FACTOR: usize = 3;

/// `<main>` replaces a choice inside it only when at most this share of its text is links.
const MAIN_MAX_LINK_DENSITY: f64 = 0.3;

/// A marked article with this many like siblings is one item of a list.
const LIST_MIN_ITEMS: usize = 3;

/// The text a member of a series must hold to count.
const REPEAT_MIN_CHARS: u32 = 80;

/// A link line of this many words reads as an item's title, not a menu entry.
const TITLE_WORDS: usize = 4;

/// Lines of links are the text when they hold this share of it.
const LINK_LIST_SHARE: f64 = 0.5;

/// Card links are content when they hold this share of the chosen text.
const CARDS_CONTENT_SHARE: f64 = 0.3;

/// A line this long said more than [`REPEATS_KEPT`] times is dropped after that.
const REPEAT_LINE_CHARS: usize = 40;
const REPEATS_KEPT: u32 = 1;

/// A line shorter than this ending with a colon is a label, read as a heading.
const LABEL_CHARS: usize = 60;

/// A line this long is a paragraph of the text (see [`titles_of_something`]).
const TAIL_PROSE_CHARS: usize = 100;

/// What to extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The main text (boilerplate removed).
    Main,
    /// Everything a reader would see, navigation and footers included.
    Full,
}

const NEGATIVE: &[&str] = &[
    "comment",
    "sidebar",
    "side-bar",
    "widget",
    "footer",
    "masthead",
    "menu",
    "breadcrumb",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "promo",
    "advert",
    "sponsor",
    "banner",
    "cookie",
    "consent",
    "gdpr",
    "popup",
    "modal",
    "newsletter",
    "subscribe",
    "signup",
    "sign-up",
    "login",
    "toolbar",
    "pagination",
    "pager",
    "disqus",
    "outbrain",
    "taboola",
    "skip",
    "most-popular",
    "mostpopular",
    "trending",
    "rss",
    "tag-list",
    "tags",
    "byline",
    "author-info",
    "author-bio",
    "author-box",
    "authorbox",
    "post-author",
    "about-author",
    "author-card",
    "signature",
    "signatures",
    "entry-meta",
    "post-meta",
    "postmeta",
    "postmetadata",
    "entry-utility",
    "entry-footer",
    "entryfooter",
    "post-ratings",
    "caption",
    "credit",
    "nav",
    "navbar",
    "topbar",
    "dropdown",
    "print",
    "read-more",
    "readmore",
    "more-stories",
    "next-post",
    "prev-post",
    "lightbox",
    "tooltip",
    "rail",
    "overlay",
    "alert",
    "notice",
    "survey",
    "paywall",
    "inline-ad",
    "ad-container",
    "adslot",
    "ad-slot",
    "dfp",
    "gpt-ad",
    "legal",
    "copyright",
    "share-tools",
    // Whole-token matching needs the compounds and inflections substrings used to catch.
    "comments",
    "commentlist",
    "respond",
    "sidebars",
    "widgets",
    "navigation",
    "subnav",
    "topnav",
    "submenu",
    "megamenu",
    "menus",
    "breadcrumbs",
    "sharedaddy",
    "sharethis",
    "addtoany",
    "shareaholic",
    "socials",
    "relatedposts",
    "recommended",
    "recommendations",
    "promos",
    "promotion",
    "adverts",
    "advertisement",
    "advertising",
    "sponsored",
    "sponsors",
    "banners",
    "cookies",
    "popups",
    "modals",
    "subscription",
    "tagcloud",
    "credits",
    "skiplinks",
    "skiplink",
];

/// The [`NEGATIVE`] words that name boilerplate whatever the site: comments, navigation,
/// footers, sidebars, sharing, consent. The others (`banner`, `promo`, `caption`, `notice`,
/// …) also name content on some sites' templates, so they are set aside when pruning by them
/// removed most of a page's prose.
const SURE_NEGATIVE: &[&str] = &[
    "comment",
    "comments",
    "commentlist",
    "respond",
    "disqus",
    "footer",
    "sidebar",
    "side-bar",
    "sidebars",
    "nav",
    "navbar",
    "navigation",
    "subnav",
    "topnav",
    "menu",
    "menus",
    "submenu",
    "megamenu",
    "breadcrumb",
    "breadcrumbs",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "pagination",
    "pager",
    "related",
    "relatedposts",
    "outbrain",
    "taboola",
    "share",
    "sharing",
    "social",
    "socials",
    "sharedaddy",
    "sharethis",
    "addtoany",
    "shareaholic",
    "share-tools",
    "skiplinks",
    "skiplink",
];

/// Class prefixes of page builders and block editors, whose class names call every block a
/// "widget" (`elementor-widget-container`, `so-widget-…`): there the word says nothing.
const BUILDER_PREFIXES: &[&str] = &[
    "elementor",
    "e",
    "et",
    "vc",
    "fl",
    "so",
    "siteorigin",
    "wp",
    "jet",
    "eael",
    "uagb",
    "kb",
    "wpb",
    "fusion",
    "brxe",
    "oxy",
    "tve",
    "thrv",
    "gb",
];

/// First words of class names that give an element's state or options rather than its role.
const MODIFIER_HEADS: &[&str] = &[
    "has", "no", "not", "hide", "show", "with", "without", "disable", "disabled", "enable",
    "enabled", "allow", "can",
];

/// Words whose meaning inside a builder's class is structural, not boilerplate.
const BUILDER_STRUCTURAL: &[&str] = &["widget", "widgets", "module", "element", "block"];

const POSITIVE_STRONG: &[&str] = &[
    "article-body",
    "articlebody",
    "article__body",
    "article-content",
    "article_content",
    "articlecontent",
    "article-text",
    "article__content",
    "story-body",
    "storybody",
    "story-content",
    "story__body",
    "entry-content",
    "entry_content",
    "post-content",
    "post_content",
    "postcontent",
    "post-body",
    "post-entry",
    "blog-content",
    "main-content",
    "body-text",
    "bodytext",
    "article-main",
    "content-body",
    "news-body",
    "text-content",
    "td-post-content",
    "c-entry-content",
    "rich-text",
    "paywall-article",
];

const POSITIVE: &[&str] = &[
    "article", "content", "entry", "main", "post", "story", "text", "body", "blog", "column",
    "news", "page",
];

fn has_word(hints: &str, words: &[&str]) -> bool {
    words.iter().any(|w| hints.contains(w))
}

/// The words of one class name or id: split at `-`, `_` and every other non-alphanumeric
/// character (camel case was split when the page was parsed).
fn class_words(class: &str) -> impl Iterator<Item = &str> {
    class
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// What an element's `class`/`id` says, computed once per element ([`hint_bits`]).
mod hint {
    pub const STRONG: u8 = 1;
    pub const POSITIVE: u8 = 2;
    pub const NEGATIVE: u8 = 4;
    pub const HIDDEN: u8 = 8;
    /// A [`super::SURE_NEGATIVE`] word.
    pub const SURE: u8 = 16;
    /// A name free of negative words says content ([`super::rescued`]).
    pub const RESCUE: u8 = 32;
}

fn hint_bits(hints: &str) -> u8 {
    if hints.is_empty() {
        return 0;
    }
    let mut b = 0;
    // Every strong term holds a positive word: without one, none can match.
    if has_word(hints, POSITIVE) {
        b |= hint::POSITIVE;
        if has_word(hints, POSITIVE_STRONG) {
            b |= hint::STRONG;
        }
    }
    if negative_words(hints, negative_terms()) {
        b |= hint::NEGATIVE;
        if negative_words(hints, sure_terms()) {
            b |= hint::SURE;
        }
    }
    if b & (hint::STRONG | hint::POSITIVE) != 0 && rescued(hints) {
        b |= hint::RESCUE;
    }
    if hidden_class(hints) {
        b |= hint::HIDDEN;
    }
    b
}

/// [`hint_bits`] of every node.
fn all_hint_bits(dom: &Dom) -> Vec<u8> {
    // Templates repeat their class lists (every card, every post): each is read once.
    let mut seen: std::collections::HashMap<&str, u8, Fnv> = Default::default();
    dom.nodes
        .iter()
        .map(|n| match &n.kind {
            Kind::Element { hints, .. } if !hints.is_empty() => {
                *seen.entry(hints).or_insert_with(|| hint_bits(hints))
            }
            _ => 0,
        })
        .collect()
}

/// A class list says boilerplate when one of its class names (or the id) holds a
/// [`NEGATIVE`] term as whole words: `overflow-hidden` is not "hidden", `jump-link` not
/// "jump". Tailwind variants (`md:…`, `hover:…`) apply only in some states and are skipped;
/// builders' structural words (`elementor-widget-container`) are not boilerplate.
fn negative_words(hints: &str, terms: &NegativeTerms) -> bool {
    hints
        .split_ascii_whitespace()
        .any(|class| negative_name(class, terms))
}

/// Whether one class name (or the id) holds a negative term as whole words.
fn negative_name(class: &str, terms: &NegativeTerms) -> bool {
    if class.contains(':') {
        return false;
    }
    let mut words: [&str; 12] = [""; 12];
    let mut n = 0;
    for w in class_words(class) {
        if n == words.len() {
            break;
        }
        words[n] = w;
        n += 1;
    }
    let words = &words[..n];
    let Some(&head) = words.first() else {
        return false;
    };
    // A state or option, not what the element is: `has-sidebar`, `no-comments`,
    // `hide-read-more-ad`, `with-share-bar`.
    if words.len() > 1 && MODIFIER_HEADS.contains(&head) {
        return false;
    }
    // A builder's block, or a block of the article (`articleWidgetHTML`, `content-module`).
    let builder = words.len() > 1 && (BUILDER_PREFIXES.contains(&head) || POSITIVE.contains(&head));
    (0..words.len()).any(|i| {
        let w = words[i];
        matches!(w, "ad" | "ads")
            || (terms.single.contains(w) && !(builder && BUILDER_STRUCTURAL.contains(&w)))
            || terms.starts(&words[i..])
    })
}

/// Whether a class name free of negative terms says content (`post`, `entry-content`): it
/// outweighs another name's negative word (`class="widget entry-content"`). A positive word
/// in the negative name itself does not (`related-posts`, `post-author`, `share-post`),
/// except next to comment words: `comment-content` is a post's text in a forum, and an
/// article's comments go with their section (`#comments`).
fn rescued(hints: &str) -> bool {
    static TERMS: std::sync::OnceLock<NegativeTerms> = std::sync::OnceLock::new();
    let terms = TERMS.get_or_init(|| {
        let not_comments: Vec<&'static str> = NEGATIVE
            .iter()
            .copied()
            .filter(|t| !COMMENT_WORDS.contains(t))
            .collect();
        NegativeTerms::of(&not_comments)
    });
    hints.split_ascii_whitespace().any(|class| {
        !class.contains(':') && has_word(class, POSITIVE) && !negative_name(class, terms)
    })
}

/// The [`NEGATIVE`] words of comment sections.
const COMMENT_WORDS: &[&str] = &["comment", "comments", "commentlist", "respond", "disqus"];

/// [`NEGATIVE`] split into one-word terms and multi-word ones (by their first word), both
/// looked up: class names are read on every page.
struct NegativeTerms {
    single: std::collections::HashSet<&'static str, Fnv>,
    multi: std::collections::HashMap<&'static str, Vec<Vec<&'static str>>, Fnv>,
}

impl NegativeTerms {
    fn of(terms: &[&'static str]) -> Self {
        let mut multi: std::collections::HashMap<&'static str, Vec<Vec<&'static str>>, Fnv> =
            Default::default();
        for t in terms.iter().filter(|t| t.contains('-')) {
            let words: Vec<&'static str> = t.split('-').collect();
            multi.entry(words[0]).or_default().push(words);
        }
        NegativeTerms {
            single: terms.iter().copied().filter(|t| !t.contains('-')).collect(),
            multi,
        }
    }

    /// Whether the term starting at `words[0]` is one of these (whole words).
    fn starts(&self, words: &[&str]) -> bool {
        self.multi
            .get(words[0])
            .is_some_and(|ts| ts.iter().any(|t| words.starts_with(t)))
    }
}

/// FNV-1a: a fast hash for the short keys of these tables (no untrusted-key flooding matters
/// here: the keys are the fixed word lists and one page's own strings).
type Fnv = fnv::FnvBuildHasher;

fn negative_terms() -> &'static NegativeTerms {
    static TERMS: std::sync::OnceLock<NegativeTerms> = std::sync::OnceLock::new();
    TERMS.get_or_init(|| NegativeTerms::of(NEGATIVE))
}

fn sure_terms() -> &'static NegativeTerms {
    static TERMS: std::sync::OnceLock<NegativeTerms> = std::sync::OnceLock::new();
    TERMS.get_or_init(|| NegativeTerms::of(SURE_NEGATIVE))
}

/// Whether the class list hides the element whatever the screen: `hidden`, `hide`,
/// `invisible`, `d-none`, `is-hidden`, `u-hidden`, `visually-hidden`, `sr-only`,
/// `screen-reader-text`, … A word "hidden" naming something else (`overflow-hidden`,
/// `quick-add-hidden`) does not, nor do responsive classes (`hidden-xs`, `hidden md:block`,
/// `d-none d-md-block`), which show the element on other screens.
fn hidden_class(hints: &str) -> bool {
    let mut hidden = false;
    for class in hints.split_ascii_whitespace() {
        if let Some((_, utility)) = class.rsplit_once(':') {
            // A Tailwind variant showing the element on some screens or states.
            if matches!(
                utility,
                "block"
                    | "flex"
                    | "grid"
                    | "inline"
                    | "inline-block"
                    | "inline-flex"
                    | "table"
                    | "contents"
            ) {
                return false;
            }
            continue;
        }
        match class {
            "hidden" | "hide" | "invisible" | "d-none" | "is-hidden" | "u-hidden" | "js-hidden"
            | "is-hide" | "visually-hidden" | "visuallyhidden" | "sr-only"
            | "screen-reader-text" | "screenreader-only" | "element-invisible" | "offscreen" => {
                hidden = true
            }
            _ => {
                // Bootstrap's `d-md-block`, `d-lg-flex`: shown from some width on.
                let mut w = class.split('-');
                if w.next() == Some("d") && w.clone().count() == 2 {
                    let _bp = w.next();
                    if matches!(
                        w.next(),
                        Some("block" | "flex" | "inline" | "inline-block" | "grid" | "table")
                    ) {
                        return false;
                    }
                }
            }
        }
    }
    hidden
}

#[derive(Clone, Copy, Default)]
struct Stat {
    chars: u32,
    link_chars: u32,
    /// Of `link_chars`, those in card links (see `Ctx::card`).
    card_chars: u32,
    commas: u32,
}

struct Ctx<'a> {
    dom: &'a Dom,
    /// [`hint_bits`] per node.
    bits: &'a [u8],
    removed: Vec<bool>,
    stat: Vec<Stat>,
    /// `<a>` elements that wrap block content (a heading, a paragraph, a `div`): cards of a
    /// listing whose whole item is one link. Their text is content, not navigation.
    card: Vec<bool>,
    /// Whether a class/id word outside [`SURE_NEGATIVE`] removed an element ([`Hints::All`]).
    weak_only: bool,
}

fn normalized_len(s: &str) -> (u32, u32) {
    let mut n = 0u32;
    let mut commas = 0u32;
    let mut prev_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if !prev_space {
                n += 1;
                prev_space = true;
            }
        } else {
            n += 1;
            prev_space = false;
            if c == ',' || c == '，' || c == '、' {
                commas += 1;
            }
        }
    }
    (n, commas)
}

fn element(dom: &Dom, id: NodeId) -> Option<(T, &str, u8)> {
    match &dom.nodes[id as usize].kind {
        Kind::Element { tag, hints, flags } => Some((*tag, hints, *flags)),
        Kind::Text(_) => None,
    }
}

/// How much of the class/id vocabulary prunes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hints {
    /// Every [`NEGATIVE`] word.
    All,
    /// Only the [`SURE_NEGATIVE`] words.
    Sure,
    /// None.
    Off,
}

/// True when an element is boilerplate by its tag, flags or class/id.
fn is_boilerplate(tag: T, bits: u8, fl: u8, hints: Hints) -> bool {
    match tag {
        T::Dropped
        | T::Head
        | T::Title
        | T::Nav
        | T::Aside
        | T::Footer
        | T::Header
        | T::Button
        | T::Select
        | T::Option
        | T::Textarea
        | T::Input
        | T::Label
        | T::Figcaption => return true,
        T::Root | T::Html | T::Body | T::Main => return false,
        _ => {}
    }
    if fl & flags::HIDDEN != 0 {
        return true;
    }
    if fl & flags::ARTICLE_BODY != 0 || fl & flags::ROLE_MAIN != 0 {
        return false;
    }
    if fl & flags::ROLE_BOILERPLATE != 0 {
        return true;
    }
    if hints == Hints::Off || bits == 0 || tag == T::Article {
        return false;
    }
    if bits & hint::STRONG != 0 && bits & hint::RESCUE != 0 {
        return false;
    }
    if bits & hint::HIDDEN != 0 {
        return true;
    }
    let negative = match hints {
        Hints::Sure => hint::SURE,
        _ => hint::NEGATIVE,
    };
    bits & negative != 0 && bits & hint::RESCUE == 0
}

fn full_dropped(tag: T, fl: u8) -> bool {
    matches!(
        tag,
        T::Dropped | T::Head | T::Title | T::Select | T::Option | T::Textarea | T::Input
    ) || fl & flags::HIDDEN != 0
}

impl<'a> Ctx<'a> {
    fn new(
        dom: &'a Dom,
        bits: &'a [u8],
        page: &Page,
        mode: Mode,
        hints: Hints,
        noscript: bool,
    ) -> Self {
        let n = dom.nodes.len();
        let mut keep_headers = vec![false; n];
        let mut ctx = Self::build(dom, bits, page, mode, hints, noscript, &keep_headers);
        let has_header = (1..n).any(|i| dom.tag(i as NodeId) == Some(T::Header));
        if mode == Mode::Main && has_header {
            // `<header>` is usually a masthead, but some sites wrap real content in one: keep
            // the ones that hold a lot of text and few links.
            let mut any = false;
            let probe = Self::build(dom, bits, page, mode, hints, noscript, &vec![true; n]);
            for (i, keep) in keep_headers.iter_mut().enumerate().skip(1) {
                if dom.tag(i as NodeId) == Some(T::Header)
                    && !probe.removed[i]
                    && probe.stat[i].chars >= 400
                    && probe.link_density(i as NodeId) < 0.3
                {
                    *keep = true;
                    any = true;
                }
            }
            if any {
                ctx = Self::build(dom, bits, page, mode, hints, noscript, &keep_headers);
            }
        }
        ctx
    }

    fn build(
        dom: &'a Dom,
        bits: &'a [u8],
        page: &Page,
        mode: Mode,
        hints: Hints,
        noscript: bool,
        keep_headers: &[bool],
    ) -> Self {
        let n = dom.nodes.len();
        let mut removed = vec![false; n];
        let mut weak_only = false;
        // Parents come before children in the arena: one forward pass propagates removal.
        for i in 1..n {
            let p = dom.nodes[i].parent as usize;
            removed[i] = removed[p]
                || match element(dom, i as NodeId) {
                    Some((T::Header, _, _)) if keep_headers[i] => false,
                    Some((T::Dropped, _, f)) if noscript && f & flags::NOSCRIPT != 0 => false,
                    Some((t, _, f)) => match mode {
                        Mode::Main => {
                            let gone = is_boilerplate(t, bits[i], f, hints)
                                // A class/id word does not remove most of the page's prose:
                                // there it names a layout (`sidebar-container` around the
                                // article), not boilerplate.
                                // Nor does `<aside>` or a hidden element: a drawer or
                                // a deferred block that scripts open.
                                && ((t != T::Aside
                                    && is_boilerplate(t, 0, f & !flags::HIDDEN, Hints::Off))
                                    || 100 * u64::from(page.prose[i])
                                        < LAYOUT_PROSE_PERCENT * u64::from(page.prose[0]));
                            if gone && hints == Hints::All && !removed[p] {
                                weak_only |= !is_boilerplate(t, bits[i], f, Hints::Sure);
                            }
                            gone
                        }
                        Mode::Full => full_dropped(t, f),
                    },
                    None => false,
                };
        }
        let mut stat = vec![Stat::default(); n];
        let mut has_block = vec![false; n];
        let mut card = vec![false; n];
        // Children come after parents: one backward pass sums up.
        for i in (1..n).rev() {
            if removed[i] {
                continue;
            }
            if let Kind::Text(_) = &dom.nodes[i].kind {
                let (c, commas) = page.lens[i];
                stat[i].chars += c;
                stat[i].commas += commas;
            }
            let tag = dom.tag(i as NodeId);
            if tag == Some(T::A) {
                if has_block[i] {
                    card[i] = true;
                    stat[i].card_chars = stat[i].chars;
                } else {
                    stat[i].link_chars = stat[i].chars;
                }
            }
            let p = dom.nodes[i].parent as usize;
            if has_block[i]
                || tag.is_some_and(|t| {
                    matches!(
                        t,
                        T::P | T::Div
                            | T::H1
                            | T::H2
                            | T::H3
                            | T::H4
                            | T::H5
                            | T::H6
                            | T::Li
                            | T::Ul
                            | T::Ol
                            | T::Article
                            | T::Section
                    )
                })
            {
                has_block[p] = true;
            }
            let s = stat[i];
            stat[p].chars += s.chars;
            stat[p].link_chars += s.link_chars;
            stat[p].card_chars += s.card_chars;
            stat[p].commas += s.commas;
        }
        Ctx {
            dom,
            bits,
            removed,
            stat,
            card,
            weak_only,
        }
    }

    fn link_density(&self, id: NodeId) -> f64 {
        let s = self.stat[id as usize];
        if s.chars == 0 {
            0.0
        } else {
            s.link_chars as f64 / s.chars as f64
        }
    }

    /// The share of the text in card links.
    fn card_share(&self, id: NodeId) -> f64 {
        let s = self.stat[id as usize];
        if s.chars == 0 {
            0.0
        } else {
            f64::from(s.card_chars) / f64::from(s.chars)
        }
    }

    fn has_direct_text(&self, id: NodeId) -> bool {
        self.dom.nodes[id as usize].children.iter().any(
            |&c| matches!(&self.dom.nodes[c as usize].kind, Kind::Text(t) if !t.trim().is_empty()),
        )
    }

    fn prior(&self, id: NodeId) -> f64 {
        let Some((tag, hints, fl)) = element(self.dom, id) else {
            return 0.0;
        };
        let mut s = match tag {
            T::Div | T::Article | T::Main | T::Section => 5.0,
            T::Pre | T::Td | T::Blockquote => 3.0,
            T::OtherBlock | T::Ol | T::Ul | T::Dl | T::Dd | T::Dt | T::Li | T::Form => -3.0,
            T::H1 | T::H2 | T::H3 | T::H4 | T::H5 | T::H6 | T::Th => -5.0,
            _ => 0.0,
        };
        if tag == T::Article {
            s += 10.0;
        }
        if fl & (flags::ARTICLE_BODY | flags::ROLE_MAIN) != 0 {
            s += 50.0;
        }
        if !hints.is_empty() {
            let bits = self.bits[id as usize];
            if bits & hint::STRONG != 0 {
                s += 50.0;
            } else if bits & hint::POSITIVE != 0 {
                s += 25.0;
            }
            if bits & hint::NEGATIVE != 0 {
                s -= 25.0;
            }
        }
        s
    }

    /// The best container and its score table.
    fn select(&self) -> Option<Vec<NodeId>> {
        let roots = self.select_containers()?;
        let roots = self.widen_to_main(roots);
        // Text spread over the page (service, landing and listing pages built of unlike
        // sections): when the choice holds under `SPREAD_SHARE` of the pruned page's
        // non-link text and no markup says it is the article, the pruned page is the content.
        let clean = |i: usize| {
            let s = self.stat[i];
            f64::from(s.chars - s.link_chars)
        };
        let chosen: f64 = roots.iter().map(|&r| clean(r as usize)).sum();
        if let Some(m) = roots.iter().find_map(|&r| self.marked_article(r)) {
            // Inside the article's markup, the same holds within the article: a choice
            // under `SPREAD_SHARE` of it is one of its sections (page builders' sections).
            if chosen < SPREAD_SHARE * clean(m)
                && roots.iter().all(|&r| self.marked_article(r) == Some(m))
            {
                return Some(
                    self.list_of(m as NodeId)
                        .unwrap_or_else(|| vec![m as NodeId]),
                );
            }
            return Some(roots);
        }
        if chosen < SPREAD_SHARE * clean(0) && !self.holds_the_headline(&roots) {
            return Some(vec![0]);
        }
        Some(roots)
    }

    /// The list `id` is an item of: [`LIST_MIN_ITEMS`] or more siblings of its shape (a
    /// listing's `<article>` cards, a thread's posts), whatever their links.
    fn list_of(&self, id: NodeId) -> Option<Vec<NodeId>> {
        let key = self.shape(id)?;
        let p = self.dom.nodes[id as usize].parent;
        if p == 0 {
            return None;
        }
        let items: Vec<NodeId> = self.children_shaped(p, key).collect();
        (items.len() >= LIST_MIN_ITEMS).then_some(items)
    }

    /// The children of `p` left after pruning that have the shape `key` ([`Ctx::shape`]).
    fn children_shaped(&self, p: NodeId, key: (T, u64)) -> impl Iterator<Item = NodeId> + '_ {
        self.dom.nodes[p as usize]
            .children
            .iter()
            .copied()
            .filter(move |&c| !self.removed[c as usize] && self.shape(c) == Some(key))
    }

    /// Whether the choice holds the page's one visible `<h1>`: then it is what the page is
    /// about.
    fn holds_the_headline(&self, roots: &[NodeId]) -> bool {
        let mut h1s = (1..self.dom.nodes.len())
            .filter(|&i| !self.removed[i] && self.dom.tag(i as NodeId) == Some(T::H1));
        let (Some(h), None) = (h1s.next(), h1s.next()) else {
            return false;
        };
        let mut x = h;
        while x != 0 {
            if roots.contains(&(x as NodeId)) {
                return true;
            }
            x = self.dom.nodes[x].parent as usize;
        }
        false
    }

    /// The element, or its nearest ancestor, marked as the article (`<article>`,
    /// `itemprop=articleBody`, a strong class such as `entry-content`).
    fn marked_article(&self, id: NodeId) -> Option<usize> {
        let mut x = id as usize;
        while x != 0 {
            if let Some((tag, _, fl)) = element(self.dom, x as NodeId) {
                if tag == T::Article
                    || fl & flags::ARTICLE_BODY != 0
                    || self.bits[x] & hint::STRONG != 0
                {
                    return Some(x);
                }
            }
            x = self.dom.nodes[x].parent as usize;
        }
        None
    }

    /// The page's one `<main>`, when the chosen content sits inside it but holds under half
    /// of its text and `<main>` itself reads as text (few links): the author marked it as the
    /// main content, and pages of sections (services, products) spread theirs over it.
    fn widen_to_main(&self, roots: Vec<NodeId>) -> Vec<NodeId> {
        let mut mains = (1..self.dom.nodes.len())
            .filter(|&i| !self.removed[i] && self.dom.tag(i as NodeId) == Some(T::Main));
        let (Some(m), None) = (mains.next(), mains.next()) else {
            return roots;
        };
        let inside = |mut x: usize| loop {
            if x == m {
                break true;
            }
            if x == 0 {
                break false;
            }
            x = self.dom.nodes[x].parent as usize;
        };
        let chars: u32 = roots.iter().map(|&r| self.stat[r as usize].chars).sum();
        if roots.iter().all(|&r| inside(r as usize))
            && f64::from(chars) < 0.5 * f64::from(self.stat[m].chars)
            && self.link_density(m as NodeId) < MAIN_MAX_LINK_DENSITY
        {
            return vec![m as NodeId];
        }
        roots
    }

    fn select_containers(&self) -> Option<Vec<NodeId>> {
        let n = self.dom.nodes.len();
        let mut score = vec![0.0f64; n];
        let mut is_cand = vec![false; n];
        for i in 1..n {
            if self.removed[i] {
                continue;
            }
            let id = i as NodeId;
            let Some((tag, _, _)) = element(self.dom, id) else {
                continue;
            };
            let para = match tag {
                T::P | T::Pre | T::Td | T::Blockquote | T::Dd => true,
                T::Div | T::Section | T::Article | T::Li | T::OtherBlock | T::Main => {
                    self.has_direct_text(id)
                }
                _ => false,
            };
            if !para {
                continue;
            }
            let st = self.stat[i];
            if st.chars < 25 {
                continue;
            }
            // Commas mark prose; in code they are syntax.
            let commas = if tag == T::Pre {
                st.commas.min(3)
            } else {
                st.commas
            };
            let s = 1.0 + commas as f64 + (st.chars as f64 / 100.0).floor().min(3.0);
            let mut anc = self.dom.nodes[i].parent;
            for level in 0..5 {
                if anc == 0 {
                    break;
                }
                let a = anc as usize;
                if !is_cand[a] {
                    is_cand[a] = true;
                    score[a] = self.prior(anc);
                }
                let div = match level {
                    0 => 1.0,
                    1 => 2.0,
                    l => l as f64 * 3.0,
                };
                score[a] += s / div;
                anc = self.dom.nodes[a].parent;
            }
        }
        let mut best: Option<(usize, f64)> = None;
        for i in 0..n {
            if !is_cand[i] {
                continue;
            }
            score[i] *= 1.0 - self.link_density(i as NodeId);
            if best.is_none_or(|(_, b)| score[i] > b) {
                best = Some((i, score[i]));
            }
        }
        let (top, top_score) = best?;
        // If the parent's score is close to the best, the text is spread over siblings: go up.
        let mut top = top;
        let mut top_score = top_score;
        loop {
            let p = self.dom.nodes[top].parent as usize;
            if p == 0 || !is_cand[p] || matches!(self.dom.tag(p as NodeId), Some(T::Body | T::Html))
            {
                break;
            }
            // A parent that holds much more text of the same quality is the real container.
            if score[p] >= top_score * 0.95 {
                top = p;
                top_score = score[p];
            } else {
                break;
            }
        }
        let parent = self.dom.nodes[top].parent as usize;
        let threshold = (top_score * 0.2).max(10.0);
        let mut out = Vec::new();
        if parent == 0 {
            return Some(vec![top as NodeId]);
        }
        for &sib in &self.dom.nodes[parent].children {
            let s = sib as usize;
            if self.removed[s] {
                continue;
            }
            if s == top {
                out.push(sib);
                continue;
            }
            let Some((tag, _, _)) = element(self.dom, sib) else {
                continue;
            };
            let ld = self.link_density(sib);
            let chars = self.stat[s].chars;
            let keep = (is_cand[s] && score[s] >= threshold)
                || (tag == T::P && chars > 80 && ld < 0.25)
                || (tag == T::P && chars > 0 && ld == 0.0 && chars <= 80 && {
                    // A short clean paragraph ending a sentence.
                    self.sentence_end(sib)
                });
            if keep {
                out.push(sib);
            }
        }
        // A series of like containers (posts, sections) around the choice: the series, when
        // it holds more text than the choice and its near siblings.
        if let Some(series) = self.repeated_containers(top as NodeId) {
            if series
                .iter()
                .all(|&s| self.dom.nodes[s as usize].parent as usize == parent)
            {
                // Both are children of one parent: keep either's, in document order.
                let mut keep = std::collections::HashSet::with_capacity(out.len() + series.len());
                keep.extend(out.iter().chain(&series).copied());
                let all = self.dom.nodes[parent]
                    .children
                    .iter()
                    .copied()
                    .filter(|c| keep.contains(c))
                    .collect();
                return Some(all);
            }
            let chars = |v: &[NodeId]| v.iter().map(|&s| self.stat[s as usize].chars).sum::<u32>();
            if chars(&series) > chars(&out) {
                return Some(series);
            }
        }
        Some(out)
    }

    /// Content that repeats a structure: forum threads (one container per post), sections
    /// built from one template, listings. The chosen container or an ancestor below
    /// `<body>` whose parent has other children of the same kind (same tag and first class
    /// word) that also read as text (long enough, few links) is one of a series; the series
    /// holding the most text is the content.
    fn repeated_containers(&self, top: NodeId) -> Option<Vec<NodeId>> {
        let mut a = top;
        let mut best: Option<(u32, Vec<NodeId>)> = None;
        loop {
            let p = self.dom.nodes[a as usize].parent;
            if p == 0 || matches!(self.dom.tag(p), Some(T::Body | T::Html) | None) {
                break;
            }
            if let Some(key) = self.shape(a) {
                let series: Vec<NodeId> = self
                    .children_shaped(p, key)
                    .filter(|&c| {
                        c == a
                            || (self.reads_as_text(c)
                                && (self.card_share(c) - self.card_share(a)).abs() < 0.5)
                    })
                    .collect();
                let chars = series
                    .iter()
                    .map(|&s| self.stat[s as usize].chars)
                    .sum::<u32>();
                if series.len() >= 2
                    && self.reads_as_text(a)
                    && best.as_ref().is_none_or(|(c, _)| chars > *c)
                {
                    best = Some((chars, series));
                }
            }
            a = p;
        }
        best.map(|(_, s)| s)
    }

    /// An element's tag and first class/id name without its numbered words (`answer-12072`
    /// numbers one item, `post_c2` is a build's hash: `answer` and `post` are what the
    /// template repeats), as a hash of the words left.
    fn shape(&self, id: NodeId) -> Option<(T, u64)> {
        let (tag, hints, _) = element(self.dom, id)?;
        let mut h = std::hash::DefaultHasher::new();
        let mut any = false;
        let numbered = |w: &&str| w.bytes().any(|b| b.is_ascii_digit());
        for name in hints.split_ascii_whitespace() {
            // Mostly numbered words: a generated name (`sc-614f2e6b-0`), not a template's.
            let (all, num) =
                class_words(name).fold((0, 0), |(a, n), w| (a + 1, n + usize::from(numbered(&w))));
            if 2 * num > all {
                continue;
            }
            for w in class_words(name).filter(|w| !numbered(w)) {
                std::hash::Hash::hash(w, &mut h);
                any = true;
            }
            if any {
                break;
            }
        }
        // Anonymous `div`s and `span`s repeat for layout, not as a series; one that only
        // wraps an element (`<div><div class="widget">`) has that element's shape.
        if !any && !matches!(tag, T::Article | T::Li | T::Section | T::Tr) {
            return self.only_child(id).and_then(|c| {
                self.shape(c)
                    .map(|(t, k)| (tag, k ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            });
        }
        Some((
            tag,
            if any {
                std::hash::Hasher::finish(&h)
            } else {
                0
            },
        ))
    }

    /// The one element child of an element whose other children are blank text.
    fn only_child(&self, id: NodeId) -> Option<NodeId> {
        let mut only = None;
        for &c in &self.dom.nodes[id as usize].children {
            match &self.dom.nodes[c as usize].kind {
                Kind::Text(t) if t.trim().is_empty() => {}
                Kind::Element { .. } if only.is_none() => only = Some(c),
                _ => return None,
            }
        }
        only
    }

    fn reads_as_text(&self, id: NodeId) -> bool {
        self.stat[id as usize].chars >= REPEAT_MIN_CHARS && self.link_density(id) < 0.35
    }

    fn sentence_end(&self, id: NodeId) -> bool {
        let mut t = String::new();
        self.collect_raw(id, &mut t);
        let t = t.trim_end();
        t.ends_with('.') || t.ends_with('!') || t.ends_with('?') || t.ends_with('。')
    }

    fn collect_raw(&self, id: NodeId, out: &mut String) {
        let mut stack = vec![id];
        while let Some(x) = stack.pop() {
            if self.removed[x as usize] {
                continue;
            }
            match &self.dom.nodes[x as usize].kind {
                Kind::Text(t) => out.push_str(t),
                Kind::Element { .. } => {
                    stack.extend(self.dom.nodes[x as usize].children.iter().rev());
                }
            }
        }
    }
}

/// One line of output while linearizing.
#[derive(Default)]
struct Block {
    text: String,
    link_chars: usize,
    chars: usize,
    pre: bool,
    /// 1–6 for a heading's line (`<h1>`…`<h6>`), else 0.
    heading: u8,
}

struct Lines {
    blocks: Vec<Block>,
    cur: Block,
    pending_space: bool,
}

impl Lines {
    fn new() -> Self {
        Lines {
            blocks: Vec::new(),
            cur: Block::default(),
            pending_space: false,
        }
    }

    fn brk(&mut self) {
        if !self.cur.text.is_empty() {
            self.blocks.push(std::mem::take(&mut self.cur));
        }
        self.pending_space = false;
    }

    fn push(&mut self, s: &str, in_link: bool, pre: bool) {
        // Invisible format characters a browser does not show: soft hyphens (`Mit&shy;tel`
        // reads `Mittel`), word joiners and stray byte-order marks.
        if s.contains(INVISIBLE) {
            let visible: String = s.chars().filter(|c| !INVISIBLE.contains(c)).collect();
            return self.push(&visible, in_link, pre);
        }
        if pre {
            for (k, line) in s.split('\n').enumerate() {
                if k > 0 {
                    self.cur.pre = true;
                    self.brk();
                }
                // Whitespace between a line's tokens is text (`<span>from</span> <span>x`);
                // only a line's end is trimmed, where the block breaks.
                let l = line.trim_end_matches('\r');
                if !l.is_empty() {
                    self.cur.text.push_str(l);
                    let c = l.chars().count();
                    self.cur.chars += c;
                    if in_link {
                        self.cur.link_chars += c;
                    }
                }
            }
            return;
        }
        for (k, w) in s.split_whitespace().enumerate() {
            if (k > 0 || self.pending_space || s.starts_with(char::is_whitespace))
                && !self.cur.text.is_empty()
            {
                self.cur.text.push(' ');
                self.cur.chars += 1;
            }
            self.cur.text.push_str(w);
            let c = w.chars().count();
            self.cur.chars += c;
            if in_link {
                self.cur.link_chars += c;
            }
            self.pending_space = false;
        }
        if s.ends_with(char::is_whitespace) {
            self.pending_space = true;
        }
    }
}

/// Characters that take no space in a rendered page and are dropped from the text.
const INVISIBLE: [char; 3] = ['\u{ad}', '\u{2060}', '\u{feff}'];

fn linearize(ctx: &Ctx, roots: &[NodeId], lines: &mut Lines) {
    // Cards are content on a listing (much of its text); in a marked article's prose they
    // are teasers of other pages ("related" cards under it) and read as links.
    let (text, cards) = roots.iter().fold((0u32, 0u32), |(t, c), &r| {
        let s = ctx.stat[r as usize];
        (t + s.chars, c + s.card_chars)
    });
    let cards_are_content = f64::from(cards) >= CARDS_CONTENT_SHARE * f64::from(text.max(1))
        || !roots.iter().all(|&r| ctx.marked_article(r).is_some());
    enum Step {
        Enter(NodeId, bool, bool),
        Leave(bool),
    }
    let mut stack: Vec<Step> = roots
        .iter()
        .rev()
        .map(|&r| Step::Enter(r, false, false))
        .collect();
    while let Some(step) = stack.pop() {
        match step {
            Step::Leave(block) => {
                if block {
                    lines.brk();
                }
            }
            Step::Enter(id, in_link, in_pre) => {
                if ctx.removed[id as usize] {
                    continue;
                }
                let node = &ctx.dom.nodes[id as usize];
                match &node.kind {
                    Kind::Text(t) => lines.push(t, in_link, in_pre),
                    Kind::Element { tag, .. } => {
                        let tag = *tag;
                        if tag == T::Br {
                            lines.brk();
                            continue;
                        }
                        let block = tag.is_block();
                        if block {
                            lines.brk();
                            lines.cur.heading = tag.heading_level();
                        } else if matches!(tag, T::Td | T::Th) {
                            lines.push(" ", in_link, false);
                        }
                        stack.push(Step::Leave(block));
                        let l = in_link
                            || (tag == T::A && (!ctx.card[id as usize] || !cards_are_content));
                        let p = in_pre || tag == T::Pre;
                        for &c in node.children.iter().rev() {
                            stack.push(Step::Enter(c, l, p));
                        }
                    }
                }
            }
        }
    }
    lines.brk();
}

const STOCK_LINES: &[&str] = &[
    "advertisement",
    "advertisements",
    "ad",
    "share",
    "share this",
    "share this article",
    "share this story",
    "tweet",
    "email",
    "print",
    "related",
    "related articles",
    "related stories",
    "read more",
    "continue reading",
    "read next",
    "more on this",
    "skip to content",
    "skip to main content",
    "comments",
    "leave a comment",
    "subscribe",
    "sign up",
    "log in",
    "loading...",
    "scroll to continue with content",
];

fn link_line(b: &Block) -> bool {
    !b.pre && b.chars > 0 && b.link_chars as f64 / b.chars as f64 > 0.5
}

/// Which lines [`finish`] drops.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    /// None (full text).
    None,
    /// Boilerplate lines of the chosen content.
    Content,
    /// Boilerplate lines of the whole pruned page: there, of the lines of links, only those
    /// that read as items' titles are kept, however many there are.
    Page,
}

fn finish(blocks: Vec<Block>, filter: Filter) -> String {
    // Lines that are mostly links are navigation around a text, but they are the text of a
    // list of links (a listing, an index): kept when they hold most of the content — on the
    // whole page (no container chosen), only those that read as an item's title (several
    // words), not a menu's entries.
    let (all, links) = blocks.iter().fold((0usize, 0usize), |(a, l), b| {
        (a + b.chars, l + if link_line(b) { b.chars } else { 0 })
    });
    let links_are_text =
        filter != Filter::None && (links as f64) >= LINK_LIST_SHARE * (all.max(1) as f64);
    let kept_link = |b: &Block| {
        links_are_text
            && (filter == Filter::Content || b.text.split_whitespace().count() >= TITLE_WORDS)
    };
    let filter = filter != Filter::None;
    // The kept lines, each with whether lines were dropped right after it.
    let mut kept: Vec<(Block, bool)> = Vec::with_capacity(blocks.len());
    for b in blocks {
        let t = b.text.trim();
        if t.is_empty() {
            continue;
        }
        let stock = || {
            // Lower-cased only when short: most lines are not.
            b.chars < 40
                && STOCK_LINES.contains(
                    &t.to_lowercase()
                        .trim_end_matches([':', '.', '»', '›'])
                        .trim(),
                )
        };
        if filter && ((link_line(&b) && !kept_link(&b)) || stock()) {
            if let Some(last) = kept.last_mut() {
                last.1 = true;
            }
            continue;
        }
        let mut b = b;
        if b.heading == 0 && b.chars < LABEL_CHARS && b.text.trim_end().ends_with([':', '：']) {
            // A label ("Read also:", "Authors:") introduces what follows, like a heading.
            b.heading = 6;
        }
        kept.push((b, false));
    }
    let keep = if filter {
        titles_of_something(&kept)
    } else {
        vec![true; kept.len()]
    };
    let mut out = String::new();
    // A long line said again word for word is a template's (a forum signature, a signup
    // box repeated down the page): the first is kept. (A pull quote repeating the article's
    // own sentence goes too: a benchmark's truth may count it twice, a corpus need not.)
    let mut said: std::collections::HashMap<&str, u32, Fnv> = Default::default();
    for ((b, _), k) in kept.iter().zip(keep) {
        if !k {
            continue;
        }
        let t = b.text.trim();
        if filter && b.chars >= REPEAT_LINE_CHARS && !b.pre {
            let n = said.entry(t).or_insert(0);
            *n += 1;
            if *n > REPEATS_KEPT {
                continue;
            }
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(t);
    }
    out
}

/// Which lines to keep: all but headings over an empty section — followed by a heading of the
/// same or a higher level, or by nothing — whose lines were dropped (links, stock lines) or
/// that end the text. "Related articles" over a dropped list of links, "Leave a comment" over
/// a removed form: a title of nothing is not text. Headings used as list items (`<li><h3>`)
/// dropped nothing and stay; so does `<h1>`, the page's own title.
fn titles_of_something(lines: &[(Block, bool)]) -> Vec<bool> {
    let mut keep = vec![true; lines.len()];
    // Only after the text's last paragraph: between paragraphs, headings over links are a
    // documentation index's or a listing's sections.
    let tail = lines
        .iter()
        .rposition(|(b, _)| b.heading == 0 && b.chars >= TAIL_PROSE_CHARS)
        .map_or(0, |i| i + 1);
    // Backwards, so that a heading over only empty subsections is empty too.
    let mut next_level: u8 = 0; // of the next kept line: 0 = none, 7 = not a heading
    let mut gap_heading: u8 = 0; // the highest heading dropped since the next kept line
    for (i, (b, dropped_after)) in lines.iter().enumerate().skip(tail).rev() {
        if b.heading == 0 {
            next_level = 7;
            gap_heading = 0;
            continue;
        }
        let empty = next_level == 0 || next_level <= b.heading;
        // Dropped lines right after it; the end of the text, or subsections that were empty
        // (not siblings: `<li><h3>` items before an empty last one stay).
        let of_nothing = *dropped_after
            || (gap_heading == 0 && next_level == 0)
            || (gap_heading != 0 && gap_heading > b.heading);
        if b.heading > 1 && empty && of_nothing {
            keep[i] = false;
            gap_heading = if gap_heading == 0 {
                b.heading
            } else {
                gap_heading.min(b.heading)
            };
        } else {
            next_level = b.heading;
            gap_heading = 0;
        }
    }
    keep
}

/// Whether the page's text lives in `<noscript>`: more text there than in the rest of the
/// page. Such pages (Discourse forums, some single-page apps) render the same content with
/// scripts; a browser shows it, so it is read from the `<noscript>` copy.
fn noscript_carries_page(dom: &Dom) -> bool {
    let n = dom.nodes.len();
    // 0: visible, 1: inside <noscript>, 2: dropped otherwise.
    let mut state = vec![0u8; n];
    let (mut inside, mut outside) = (0usize, 0usize);
    for i in 1..n {
        let p = state[dom.nodes[i].parent as usize];
        state[i] = match &dom.nodes[i].kind {
            Kind::Element { .. } if p != 0 => p,
            Kind::Element { tag, flags: fl, .. } => {
                if fl & flags::NOSCRIPT != 0 {
                    1
                } else if full_dropped(*tag, *fl) {
                    2
                } else {
                    0
                }
            }
            Kind::Text(t) => {
                let len = t.trim().len();
                match p {
                    0 => outside += len,
                    1 => inside += len,
                    _ => {}
                }
                p
            }
        };
    }
    inside > outside
}

/// What every pass over a page reads, computed once.
struct Page {
    /// [`normalized_len`] of each text node (zero for elements).
    lens: Vec<(u32, u32)>,
    /// Characters of paragraph (`<p>`) text under each node, script and style left out
    /// (main text only).
    prose: Vec<u32>,
}

impl Page {
    fn of(dom: &Dom, mode: Mode) -> Self {
        let lens: Vec<(u32, u32)> = dom
            .nodes
            .iter()
            .map(|n| match &n.kind {
                Kind::Text(t) => normalized_len(t),
                Kind::Element { .. } => (0, 0),
            })
            .collect();
        let prose = if mode == Mode::Main {
            prose_chars(dom, &lens)
        } else {
            Vec::new()
        };
        Page { lens, prose }
    }
}

fn prose_chars(dom: &Dom, lens: &[(u32, u32)]) -> Vec<u32> {
    let n = dom.nodes.len();
    let mut in_p = vec![false; n];
    let mut dropped = vec![false; n];
    for i in 1..n {
        let p = dom.nodes[i].parent as usize;
        in_p[i] = in_p[p] || dom.tag(i as NodeId) == Some(T::P);
        dropped[i] = dropped[p] || dom.tag(i as NodeId).is_some_and(|t| full_dropped(t, 0));
    }
    let mut prose = vec![0u32; n];
    for i in (1..n).rev() {
        if dropped[i] {
            continue;
        }
        if in_p[i] {
            prose[i] += lens[i].0;
        }
        let p = dom.nodes[i].parent as usize;
        prose[p] += prose[i];
    }
    prose
}

/// Extracts text from a parsed page.
pub fn extract(dom: &Dom, mode: Mode) -> String {
    let noscript = noscript_carries_page(dom);
    let bits = if mode == Mode::Main {
        all_hint_bits(dom)
    } else {
        Vec::new()
    };
    let page = Page::of(dom, mode);
    match mode {
        Mode::Full => {
            let ctx = Ctx::new(dom, &bits, &page, Mode::Full, Hints::Off, noscript);
            let mut lines = Lines::new();
            linearize(&ctx, &[0], &mut lines);
            let text = finish(lines.blocks, Filter::None);
            if text.is_empty() {
                // No visible text at all (scripts load it): the page's title and summary.
                return [dom.title.as_str(), dom.description.as_str()]
                    .iter()
                    .filter(|t| !t.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            text
        }
        Mode::Main => {
            let main_text = |hints: Hints| {
                let ctx = Ctx::new(dom, &bits, &page, Mode::Main, hints, noscript);
                ctx.select().map(|roots| {
                    let mut lines = Lines::new();
                    linearize(&ctx, &roots, &mut lines);
                    let whole = roots == [0];
                    let text = finish(
                        lines.blocks,
                        if whole { Filter::Page } else { Filter::Content },
                    );
                    let n = text.chars().count();
                    (text, n, ctx.weak_only)
                })
            };
            let mut best = String::new();
            if let Some((text, n, weak_only)) = main_text(Hints::All) {
                if n >= MIN_MAIN_CHARS {
                    // Class/id words that can also name content removed most of the prose:
                    // on this site they do.
                    if weak_only {
                        if let Some((relaxed, m, _)) = main_text(Hints::Sure) {
                            if m >= RELAX_FACTOR * n {
                                return relaxed;
                            }
                        }
                    }
                    return text;
                }
                best = text;
            }
            if let Some((text, n, _)) = main_text(Hints::Off) {
                if n >= MIN_MAIN_CHARS {
                    return text;
                }
                if text.len() > best.len() {
                    best = text;
                }
            }
            // Still short: the whole pruned page, link lists dropped.
            let ctx = Ctx::new(dom, &bits, &page, Mode::Main, Hints::All, noscript);
            let mut lines = Lines::new();
            linearize(&ctx, &[0], &mut lines);
            let all = finish(lines.blocks, Filter::Page);
            let best = if all.len() > best.len() { all } else { best };
            if best.trim().is_empty() {
                // Nothing survived boilerplate removal: better the whole text than nothing.
                return extract(dom, Mode::Full);
            }
            best
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::parse;

    #[test]
    fn keeps_article_drops_boilerplate() {
        let body = "This is a long paragraph of article text, with commas, and enough words to count as content. ".repeat(3);
        let html = format!(
            r#"<html><head><title>T</title><style>p{{}}</style></head><body>
            <nav><a href="/">Home</a> <a href="/x">News</a></nav>
            <div class="sidebar"><p>{body}</p></div>
            <article><h1>Headline</h1><p>{body}</p><p>Second: {body}</p>
            <p><a href="a">Link one</a> <a href="b">Link two</a></p></article>
            <footer>Copyright 2020</footer></body></html>"#
        );
        let dom = parse(&html).unwrap();
        let main = extract(&dom, Mode::Main);
        assert!(main.contains("article text"), "{main}");
        assert!(!main.contains("Home"), "{main}");
        assert!(!main.contains("Copyright"), "{main}");
        assert!(!main.contains("Link one"), "{main}");
        assert_eq!(main.matches("This is a long").count(), 6, "{main}");
        let full = extract(&dom, Mode::Full);
        assert!(full.contains("Home") && full.contains("Copyright") && full.contains("Link one"));
        assert!(!full.contains("p{}"));
    }

    /// The main text of a page.
    fn main_text(html: &str) -> String {
        extract(&parse(html).unwrap(), Mode::Main)
    }

    fn para(words: &str) -> String {
        format!(
            "{words}, a sentence long enough to count as content, with commas, and more words. "
        )
        .repeat(3)
    }

    #[test]
    fn boilerplate_words_match_whole_class_words() {
        assert!(negative_words("sidebar", negative_terms()));
        assert!(negative_words("site-sidebar primary", negative_terms()));
        assert!(negative_words("widget widget_text", negative_terms()));
        assert!(negative_words("side-bar", negative_terms()));
        assert!(negative_words("comments-area", negative_terms()));
        // A word inside another word, or a builder's structural word, is not boilerplate.
        assert!(!negative_words(
            "elementor-widget-container",
            negative_terms()
        ));
        assert!(!negative_words("jump-link", negative_terms()));
        assert!(!negative_words("thread-reply", negative_terms()));
        assert!(!negative_words("canvas", negative_terms()));
        // Tailwind variants only apply in some states.
        assert!(!negative_words("md:menu", negative_terms()));
    }

    #[test]
    fn sure_words_are_boilerplate_words() {
        let all = negative_terms();
        for w in SURE_NEGATIVE {
            assert!(negative_words(w, all), "{w}");
        }
        assert!(negative_words("comments-area", sure_terms()));
        assert!(!negative_words("hero-banner", sure_terms()));
        assert!(negative_words("hero-banner", all));
    }

    #[test]
    fn hidden_classes_are_visibility_classes_only() {
        assert!(hidden_class("hidden"));
        assert!(hidden_class("foo is-hidden"));
        assert!(hidden_class("visually-hidden"));
        assert!(hidden_class("d-none"));
        assert!(!hidden_class("overflow-hidden"));
        assert!(!hidden_class("quick-add-hidden"));
        assert!(!hidden_class("hidden md:block"));
        assert!(!hidden_class("d-none d-lg-flex"));
        assert!(!hidden_class("hidden-xs"));
    }

    #[test]
    fn camel_case_class_words_are_split() {
        let body = para("Main story text");
        let html = format!(
            r#"<body><div class="sideBar"><p>{}</p></div><div class="story"><p>{body}</p><p>{body}</p></div></body>"#,
            para("Sidebar words")
        );
        let main = main_text(&html);
        assert!(main.contains("Main story text"), "{main}");
        assert!(!main.contains("Sidebar words"), "{main}");
    }

    #[test]
    fn framework_classes_keep_their_content() {
        let body = para("Product description");
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav>
            <div class="elementor-widget-container"><p>{body}</p><p>{body}</p></div>
            <div class="overflow-hidden quick-add-hidden"><p>{}</p></div>
            <div class="hidden"><p>{}</p></div></body>"#,
            para("Details"),
            para("Invisible words")
        );
        let main = main_text(&html);
        assert!(main.contains("Product description"), "{main}");
        assert!(main.contains("Details"), "{main}");
        assert!(!main.contains("Invisible words"), "{main}");
    }

    #[test]
    fn react_streamed_segments_show_where_their_placeholder_is() {
        let html = format!(
            r#"<body><main><h1>Title</h1><template id="B:0"></template><p>After the segment.</p></main>
            <div hidden id="S:0"><p>{}</p></div>
            <div hidden id="other"><p>{}</p></div>
            <script>$RC("B:0","S:0")</script></body>"#,
            para("Streamed article"),
            para("Truly hidden")
        );
        let full = extract(&parse(&html).unwrap(), Mode::Full);
        let seg = full.find("Streamed article").expect(&full);
        let after = full.find("After the segment").expect(&full);
        assert!(seg < after, "{full}");
        assert!(!full.contains("Truly hidden"), "{full}");
        let main = main_text(&html);
        assert!(main.contains("Streamed article"), "{main}");
    }

    #[test]
    fn noscript_is_read_when_it_holds_the_page() {
        let html = format!(
            r#"<body><div id="app"></div><noscript><div class="post"><p>{}</p></div></noscript></body>"#,
            para("Forum post")
        );
        let main = main_text(&html);
        assert!(main.contains("Forum post"), "{main}");
        // A page with its own text keeps ignoring the "enable JavaScript" notice.
        let html = format!(
            r#"<body><article><p>{}</p></article><noscript><p>Please enable JavaScript.</p></noscript></body>"#,
            para("Article")
        );
        let main = main_text(&html);
        assert!(main.contains("Article"), "{main}");
        assert!(!main.contains("enable JavaScript"), "{main}");
    }

    #[test]
    fn a_thread_keeps_every_post() {
        // Each post numbered by its id, which comes first among the class/id words.
        let post = |n: u32, words: &str| {
            format!(
                r#"<div id="post-{n}" class="post"><div class="author">User {n}</div><div class="body"><p>{}</p></div></div>"#,
                para(words)
            )
        };
        let html = format!(
            r#"<body><div class="thread">{}{}{}</div><aside><p>{}</p></aside></body>"#,
            post(1, "First question about the engine"),
            post(2, &"Long answer about the engine ".repeat(4)),
            post(3, "Short reply on the engine"),
            para("Sidebar")
        );
        let main = main_text(&html);
        for w in ["First question", "Long answer", "Short reply"] {
            assert!(main.contains(w), "{w}: {main}");
        }
        assert!(!main.contains("Sidebar"), "{main}");
    }

    #[test]
    fn a_page_without_visible_text_keeps_its_title_and_description() {
        let html = r#"<html><head><title>Thread title</title>
            <meta name="description" content="The first post, as the site summarizes it.">
            </head><body><section id="splash"><div class="dots"></div></section>
            <script>app()</script></body></html>"#;
        let dom = parse(html).unwrap();
        for mode in [Mode::Main, Mode::Full] {
            assert_eq!(
                extract(&dom, mode),
                "Thread title\nThe first post, as the site summarizes it."
            );
        }
    }

    #[test]
    fn sections_of_main_are_kept_together() {
        // One section reads as the article; eight short, unlike sections hold more text
        // between them. `<main>` says they all belong.
        let short = (1..=8)
            .map(|i| {
                format!(
                    r#"<section class="block{i}"><div><div>Feature {i} gives every customer a plan that fits the way they work today</div></div></section>"#
                )
            })
            .collect::<String>();
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav><main><section class="intro"><p>{}</p></section>{short}</main><footer><p>{}</p></footer></body>"#,
            para("Insurance that covers you"),
            para("Footer words")
        );
        let main = main_text(&html);
        for w in [
            "Insurance that covers",
            "Feature 1 gives",
            "Feature 8 gives",
        ] {
            assert!(main.contains(w), "{w}: {main}");
        }
        assert!(!main.contains("Footer words"), "{main}");
    }

    #[test]
    fn listing_cards_are_content_navigation_is_not() {
        // Each item of the listing is one link wrapping a heading and a paragraph.
        let items: String = (0..6)
            .map(|i| {
                format!(
                    r#"<li class="job"><a href="/j/{i}"><h3>Senior engineer number {i}</h3><p>Remote, full time, anywhere in the world, posted {i} days ago</p></a></li>"#
                )
            })
            .collect();
        let html = format!(
            r#"<body><ul class="menu"><li><a href="/">Home</a></li><li><a href="/jobs">Jobs</a></li><li><a href="/about">About us</a></li></ul>
            <section class="jobs"><h2>Latest jobs</h2><ul>{items}</ul></section></body>"#
        );
        let main = main_text(&html);
        for i in 0..6 {
            assert!(
                main.contains(&format!("Senior engineer number {i}")),
                "{main}"
            );
        }
        assert!(!main.contains("About us"), "{main}");
    }

    #[test]
    fn code_keeps_the_spaces_between_its_tokens() {
        let html = format!(
            r#"<body><div class="doc"><p>{}</p><pre><span class="kn">from</span> <span class="nn">itertools</span> <span class="kn">import</span> <span>chain</span></pre></div></body>"#,
            para("The module")
        );
        let main = main_text(&html);
        assert!(main.contains("from itertools import chain"), "{main}");
    }

    #[test]
    fn generated_class_names_are_not_a_template() {
        let dom = parse(
            r#"<body><div class="sc-614f2e6b-0 dGtpef"></div><div class="sc-614f2e6b-0 xYzQw"></div>
            <div class="post-12 odd"></div><div class="post-13 even"></div>
            <section class="BlogSection_blogSection__olC2R"></section><section class="BlogSection_blogSection__olC2R"></section></body>"#,
        )
        .unwrap();
        let bits = all_hint_bits(&dom);
        let page = Page::of(&dom, Mode::Main);
        let ctx = Ctx::new(&dom, &bits, &page, Mode::Main, Hints::All, false);
        let els: Vec<NodeId> = (0..dom.nodes.len() as NodeId)
            .filter(|&i| matches!(dom.tag(i), Some(T::Div | T::Section)))
            .collect();
        let by_id = |k: usize| els[k];
        // `sc-614f2e6b-0` is mostly numbered: the next name (a per-style hash) decides.
        assert_ne!(ctx.shape(by_id(0)), ctx.shape(by_id(1)));
        assert_eq!(ctx.shape(by_id(2)), ctx.shape(by_id(3)));
        assert_ne!(ctx.shape(by_id(1)), ctx.shape(by_id(2)));
        assert_eq!(ctx.shape(by_id(4)), ctx.shape(by_id(5)));
    }

    #[test]
    fn a_boilerplate_word_on_the_article_s_layout_does_not_remove_it() {
        let html = format!(
            r#"<body><div class="sidebar-container"><div class="post-text"><p>{}</p><p>{}</p></div>
            <aside><p>Side notes.</p></aside></div>
            <div class="comments"><p>{}</p></div></body>"#,
            para("The article itself"),
            para("More of the article"),
            para("A reader comment")
        );
        let main = main_text(&html);
        assert!(main.contains("The article itself"), "{main}");
        assert!(!main.contains("A reader comment"), "{main}");
    }

    #[test]
    fn a_template_s_banner_holding_the_prose_is_read() {
        // The page's sections are laid out as "banners"; only a short call to action is not.
        let sections: String = (0..4)
            .map(|i| {
                format!(
                    r#"<div class="banner text-box"><h2>Section {i}</h2><p>{}</p></div>"#,
                    para("Service details")
                )
            })
            .collect();
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav>{sections}
            <div class="cta"><p>{}</p></div>
            <div class="comments"><p>{}</p><p>{}</p></div></body>"#,
            para("Contact us today"),
            para("A reader comment"),
            para("Another comment")
        );
        let main = main_text(&html);
        assert!(main.contains("Section 3"), "{main}");
        assert!(!main.contains("reader comment"), "{main}");
    }

    #[test]
    fn text_spread_over_unlike_sections_is_all_kept_unless_marked_as_the_article() {
        let page = |wrap: &str| {
            format!(
                r#"<body><nav><a href="/">Home</a></nav>
                <div class="hero"><h1>Project management</h1><p>{}</p></div>
                <div class="wrap">{wrap}</div>
                <div class="pricing"><h2>Plans</h2><ul><li>{}</li><li>{}</li></ul></div>
                <div class="faq"><h3>Questions</h3><p>{}</p></div></body>"#,
                para("Plan your work"),
                para("Free for small teams"),
                para("Business plan"),
                para("Can I cancel"),
            )
        };
        let features = format!(
            r#"<div class="features"><p>{}</p></div>"#,
            para("Kanban boards")
        );
        let main = main_text(&page(&features));
        for s in [
            "Plan your work",
            "Kanban boards",
            "Free for small teams",
            "Can I cancel",
        ] {
            assert!(main.contains(s), "{s}: {main}");
        }
        let article = format!(
            r#"<article><p>{}</p><p>{}</p></article>"#,
            para("The story itself"),
            para("Its second part")
        );
        let main = main_text(&page(&article));
        assert!(main.contains("The story itself"), "{main}");
        assert!(!main.contains("Business plan"), "{main}");
        // The page's headline inside the choice says the same.
        let headed = format!(
            r#"<div class="story-wrap"><h1>The headline</h1><p>{}</p><p>{}</p></div>"#,
            para("The story itself"),
            para("Its second part")
        );
        let html =
            page(&headed).replace("<h1>Project management</h1>", "<h2>Project management</h2>");
        let main = main_text(&html);
        assert!(main.contains("The headline"), "{main}");
        assert!(!main.contains("Business plan"), "{main}");
    }

    #[test]
    fn a_drawer_or_deferred_block_holding_the_prose_is_read() {
        for wrap in [
            r#"<aside class="sheet">"#,
            r#"<div style="display: none" class="defer">"#,
        ] {
            let close = if wrap.starts_with("<aside") {
                "</aside>"
            } else {
                "</div>"
            };
            let html = format!(
                r#"<body><nav><a href="/">Home</a></nav><main><h1>Arrival T-shirt</h1><p>$22</p>
                {wrap}<p>{}</p><p>{}</p>{close}</main><aside><p>Free delivery over $75.</p></aside></body>"#,
                para("A purposeful approach to training"),
                para("Lightweight sweat-wicking material")
            );
            let main = main_text(&html);
            assert!(main.contains("purposeful approach"), "{wrap}: {main}");
            assert!(!main.contains("Free delivery"), "{wrap}: {main}");
        }
    }

    #[test]
    fn a_section_of_the_marked_article_widens_to_the_article() {
        // A page builder's sections inside `entry-content`, each nested deep and unlike the
        // others.
        let deep = |class: &str, inner: &str| {
            format!(
                r#"<div class="{class}"><div class="row"><div class="col"><div class="module">{inner}</div></div></div></div>"#
            )
        };
        let html = format!(
            r#"<body><nav><a href="/">Home</a></nav><div class="entry-content"><div class="builder">{}{}{}</div></div>
            <div class="site-info"><p>Contact: 555-0100</p></div></body>"#,
            deep(
                "intro",
                &format!(
                    "<h2>Which package?</h2><p>{}</p>",
                    para("Initial consultation")
                )
            ),
            deep(
                "packages",
                &format!(
                    "<p>{}</p><p>{}</p><p>{}</p>",
                    para("Who is this for"),
                    para("Deliverables include"),
                    para("One-hour meeting")
                )
            ),
            deep(
                "blurb",
                &format!(
                    "<h4>Elite package</h4><p>{}</p>",
                    para("For the most ambitious")
                )
            ),
        );
        let main = main_text(&html);
        for s in ["Initial consultation", "One-hour meeting", "most ambitious"] {
            assert!(main.contains(s), "{s}: {main}");
        }
        assert!(!main.contains("555-0100"), "{main}");
    }

    #[test]
    fn soft_hyphens_are_not_text() {
        let html = format!(
            "<html><body><article><p>{}</p><p>Das Mit&shy;tel&shy;al&shy;ter \u{ad}war lang.</p></article></body></html>",
            para("Words")
        );
        let main = main_text(&html);
        assert!(main.contains("Das Mittelalter war lang."), "{main}");
        assert!(!main.contains('\u{ad}'), "{main}");
    }

    #[test]
    fn headings_over_nothing_are_dropped_headings_used_as_items_are_not() {
        let links = r#"<ul><li><a href="/a">Another story here</a></li><li><a href="/b">And one more story</a></li></ul>"#;
        let html = format!(
            r#"<html><body><article><h1>Title</h1><p>{}</p>
            <h2>Materials</h2><ul><li><h3>organic cotton</h3></li><li><h3>linen</h3></li></ul>
            <p>{}</p>
            <h2>Related articles</h2>{links}
            <h3>Leave a comment</h3></article></body></html>"#,
            para("First"),
            para("Second")
        );
        let main = main_text(&html);
        for kept in [
            "Title",
            "Materials",
            "organic cotton",
            "linen",
            "Second, a sentence",
        ] {
            assert!(main.contains(kept), "{kept}: {main}");
        }
        for gone in ["Related articles", "Another story", "Leave a comment"] {
            assert!(!main.contains(gone), "{gone}: {main}");
        }
    }

    #[test]
    fn state_classes_do_not_name_boilerplate() {
        // `hide-read-more-ad` says what the element does not show, `has-sidebar` what the
        // page has: neither is an ad or a sidebar.
        let html = format!(
            r#"<html><body><main><div class="grid hide-read-more-ad"><p>{}</p></div>
            <div class="layout has-sidebar"><p>{}</p></div>
            <div class="read-more-ad"><p>{}</p></div></main></body></html>"#,
            para("Kept one"),
            para("Kept two"),
            para("Dropped")
        );
        let main = main_text(&html);
        assert!(
            main.contains("Kept one") && main.contains("Kept two"),
            "{main}"
        );
        assert!(!main.contains("Dropped"), "{main}");
    }

    #[test]
    fn a_content_word_inside_a_boilerplate_name_does_not_keep_it() {
        let html = format!(
            r#"<html><body><div class="post"><p>{}</p><p>{}</p>
            <div class="related-posts"><p>{}</p></div>
            <div class="post-author"><p>{}</p></div>
            <div class="widget entry-content"><p>{}</p></div></div></body></html>"#,
            para("Body one"),
            para("Body two"),
            para("Related teaser"),
            para("Author bio"),
            para("Body three")
        );
        let main = main_text(&html);
        for kept in ["Body one", "Body two", "Body three"] {
            assert!(main.contains(kept), "{kept}: {main}");
        }
        for gone in ["Related teaser", "Author bio"] {
            assert!(!main.contains(gone), "{gone}: {main}");
        }
    }

    #[test]
    fn a_label_over_nothing_at_the_end_is_dropped() {
        let html = format!(
            "<html><body><article><p>{}</p><p>Ingredients:</p><ul><li>two eggs</li></ul><p>{}</p><p>Authors:</p></article></body></html>",
            para("Text"),
            para("More")
        );
        let main = main_text(&html);
        assert!(
            main.contains("Ingredients:") && main.contains("two eggs"),
            "{main}"
        );
        assert!(!main.contains("Authors:"), "{main}");
    }

    #[test]
    fn wrappers_of_like_blocks_have_their_shape() {
        // Each block of the article sits in its own anonymous wrapper.
        let html = r#"<html><body><div class="layout"><div> <div class="article-widget">a</div> </div><div><div class="article-widget">b</div></div><div><div class="promo">c</div></div><div>d</div></div></body></html>"#;
        let dom = parse(html).unwrap();
        let bits = all_hint_bits(&dom);
        let page = Page::of(&dom, Mode::Main);
        let ctx = Ctx::new(&dom, &bits, &page, Mode::Main, Hints::Off, false);
        let layout = (0..dom.nodes.len() as NodeId)
            .find(|&i| matches!(element(&dom, i), Some((_, "layout", _))))
            .unwrap();
        let w = &dom.nodes[layout as usize].children;
        assert_eq!(w.len(), 4);
        let shapes: Vec<_> = w.iter().map(|&c| ctx.shape(c)).collect();
        assert!(shapes[0].is_some() && shapes[0] == shapes[1], "{shapes:?}");
        assert!(shapes[2].is_some() && shapes[2] != shapes[0], "{shapes:?}");
        assert_eq!(shapes[3], None, "a bare div is no series member");
    }

    #[test]
    fn hidden_tab_panels_are_content() {
        let html = format!(
            r#"<html><body><article><p>{}</p>
            <div role="tabpanel"><p>{}</p></div>
            <div role="tabpanel" hidden style="display:none"><p>{}</p></div>
            <div hidden><p>{}</p></div></article></body></html>"#,
            para("Intro"),
            para("Python steps"),
            para("Node steps"),
            para("Hidden note")
        );
        let main = main_text(&html);
        for kept in ["Intro", "Python steps", "Node steps"] {
            assert!(main.contains(kept), "{kept}: {main}");
        }
        assert!(!main.contains("Hidden note"), "{main}");
    }

    #[test]
    fn collapsed_panels_a_button_discloses_are_content() {
        let html = format!(
            r#"<html><body><article><p>{}</p>
            <button aria-expanded="false" aria-controls="faq-1">Question?</button>
            <div id="faq-1" hidden><p>{}</p></div>
            <div id="faq-2" hidden><p>{}</p></div></article></body></html>"#,
            para("Intro"),
            para("The answer"),
            para("Not disclosed")
        );
        let main = main_text(&html);
        assert!(main.contains("The answer"), "{main}");
        assert!(!main.contains("Not disclosed"), "{main}");
    }

    #[test]
    fn a_long_line_said_again_is_kept_once() {
        let sig = "Posted from my workshop, three printers and a laser cutter";
        let html = format!(
            r#"<html><body><div class="thread"><div class="post"><p>{}</p><p>{sig}</p></div>
            <div class="post"><p>{}</p><p>{sig}</p></div><div class="post"><p>{}</p><p>Thanks</p><p>Thanks</p></div></div></body></html>"#,
            para("First post"),
            para("Second post"),
            para("Third post"),
        );
        let main = main_text(&html);
        assert_eq!(main.matches(sig).count(), 1, "{main}");
        assert_eq!(
            main.matches("Thanks").count(),
            2,
            "short lines stay: {main}"
        );
        assert!(main.contains("Third post"), "{main}");
    }

    #[test]
    fn cards_under_an_article_are_teasers() {
        let card = |t: &str| {
            format!(
                r#"<a href="/{t}"><div class="card"><h3>{t} headline here</h3><p>{t} teaser text of another story.</p></div></a>"#
            )
        };
        let html = format!(
            r#"<html><body><article><h1>Title</h1><p>{}</p><p>{}</p><p>{}</p>{}{}</article></body></html>"#,
            para("One"),
            para("Two"),
            para("Three"),
            card("Other"),
            card("Another")
        );
        let main = main_text(&html);
        assert!(main.contains("Three, a sentence"), "{main}");
        assert!(!main.contains("teaser text"), "{main}");
    }

    #[test]
    fn a_list_of_links_is_the_text_when_it_is_most_of_it() {
        let items: String = (0..12)
            .map(|i| {
                format!(r#"<li><a href="/p{i}">Story number {i} about the harbour works</a></li>"#)
            })
            .collect();
        let html = format!(
            r#"<html><body><nav><a href="/">Home</a></nav><main class="listing"><h1>Latest news</h1><p>Our stories, newest first, from the harbour and the town.</p><ul>{items}</ul></main>
            <footer><p>Contact us</p></footer></body></html>"#
        );
        let main = main_text(&html);
        assert!(main.contains("Story number 11 about"), "{main}");
        // Under an article, a few links are navigation.
        let html = format!(
            r#"<html><body><article><p>{}</p><p>{}</p><ul><li><a href="/a">Story number one about the harbour</a></li></ul></article></body></html>"#,
            para("One"),
            para("Two")
        );
        let main = main_text(&html);
        assert!(!main.contains("Story number one"), "{main}");
    }

    #[test]
    fn an_article_card_among_like_cards_is_one_item_of_the_list() {
        let item = |i: usize| {
            format!(
                r#"<article class="list-item"><h2><a href="/n{i}">Hotel group {i} opens a resort</a></h2></article>"#
            )
        };
        let three: String = (0..3).map(item).collect();
        let two: String = (0..2).map(item).collect();
        let html = format!(
            r#"<html><body><div class="a">{three}<p>x</p></div><div class="b">{two}</div></body></html>"#
        );
        let dom = parse(&html).unwrap();
        let bits = all_hint_bits(&dom);
        let page = Page::of(&dom, Mode::Main);
        let ctx = Ctx::new(&dom, &bits, &page, Mode::Main, Hints::All, false);
        let articles: Vec<NodeId> = (0..dom.nodes.len() as NodeId)
            .filter(|&i| dom.tag(i) == Some(T::Article))
            .collect();
        assert_eq!(articles.len(), 5);
        assert_eq!(ctx.list_of(articles[1]), Some(articles[..3].to_vec()));
        assert_eq!(ctx.list_of(articles[3]), None, "two are not a list");
    }

    #[test]
    fn every_strong_term_holds_a_positive_word() {
        // `hint_bits` looks for strong terms only where a positive word is.
        for t in POSITIVE_STRONG {
            assert!(has_word(t, POSITIVE), "{t}");
        }
    }
}
