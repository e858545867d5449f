//! edgecache's back end for the `idna` crate (which `url` uses for hosts),
//! without Unicode data tables.
//!
//! `idna` reaches its Unicode data through `idna_adapter`, and the top-level
//! `Cargo.lock` chooses which adapter (its README: 1.2.x ICU4X, 1.1.x
//! unicode-rs, 1.0.x none). The ICU4X tables were about a fifth of the
//! Worker's Wasm (BENCHMARKS.md, "Wasm size"), and the 1.0.0 stub rejects every
//! non-ASCII host, so this crate is patched in instead (`[patch.crates-io]`).
//!
//! What an edge cache sees: on Workers the runtime has already parsed the
//! request URL, so hosts arrive lower-cased ASCII, IDNs as `xn--` labels the
//! runtime produced and validated. For those inputs this adapter gives what
//! ICU4X gives (the label passes through). Elsewhere (a purge body's URL, the
//! CLI) a non-ASCII host is lower-cased per character and Punycode-encoded, so
//! `CAFÉ.example` and `café.example` both become `xn--caf-dma.example`, as
//! before. What it does not do (docs/keys.md lists it):
//!
//! - UTS 46 mapping and NFC: a host spelled with compatibility characters
//!   (fullwidth letters, `U+3002` as a dot, a decomposed accent) is encoded as
//!   spelled instead of mapped first, so it keys apart from its mapped
//!   spelling (a client's runtime or browser maps it before sending);
//! - the validity rules for decoded `xn--` labels (combining marks first,
//!   CONTEXTJ, bidi): such a host is accepted instead of refused. A host is
//!   never trusted for anything but the key, and the runtime refuses these
//!   before the worker sees them.
//!
//! The API is the one `idna` 1.x calls (the crates.io crate's public items).

#![no_std]

/// Mask for checking for both left and dual joining.
pub const LEFT_OR_DUAL_JOINING_MASK: JoiningTypeMask = JoiningTypeMask(0);
/// Mask for checking for both right and dual joining.
pub const RIGHT_OR_DUAL_JOINING_MASK: JoiningTypeMask = JoiningTypeMask(0);
/// Mask for checking if the domain is a bidi domain.
pub const RTL_MASK: BidiClassMask = BidiClassMask(0);
/// First character of a label in a bidi domain.
pub const FIRST_BC_MASK: BidiClassMask = BidiClassMask(0);
/// Last character of an LTR label in a bidi domain.
pub const LAST_LTR_MASK: BidiClassMask = BidiClassMask(0);
/// Last character of an RTL label in a bidi domain.
pub const LAST_RTL_MASK: BidiClassMask = BidiClassMask(0);
/// Middle characters of an LTR label in a bidi domain.
pub const MIDDLE_LTR_MASK: BidiClassMask = BidiClassMask(0);
/// Middle characters of an RTL label in a bidi domain.
pub const MIDDLE_RTL_MASK: BidiClassMask = BidiClassMask(0);

/// Joining_Type (not known here: never consulted, see `is_virama`).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct JoiningType(u32);

impl JoiningType {
    /// The mask of this value.
    #[inline(always)]
    pub fn to_mask(self) -> JoiningTypeMask {
        JoiningTypeMask(0)
    }

    /// Whether this is Transparent.
    #[inline(always)]
    pub fn is_transparent(self) -> bool {
        true
    }
}

/// A set of `JoiningType` values.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct JoiningTypeMask(u32);

impl JoiningTypeMask {
    /// Whether the masks share a value: always, so CONTEXTJ never refuses.
    #[inline(always)]
    pub fn intersects(self, _other: JoiningTypeMask) -> bool {
        true
    }
}

/// Bidi_Class (every character counts as left-to-right).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct BidiClass(u32);

impl BidiClass {
    /// The mask of this value.
    #[inline(always)]
    pub fn to_mask(self) -> BidiClassMask {
        BidiClassMask(0)
    }

    /// Whether this is Left_To_Right.
    #[inline(always)]
    pub fn is_ltr(self) -> bool {
        true
    }

    /// Whether this is Nonspacing_Mark.
    #[inline(always)]
    pub fn is_nonspacing_mark(self) -> bool {
        false
    }

    /// Whether this is European_Number.
    #[inline(always)]
    pub fn is_european_number(self) -> bool {
        false
    }

    /// Whether this is Arabic_Number.
    #[inline(always)]
    pub fn is_arabic_number(self) -> bool {
        false
    }
}

/// A set of `BidiClass` values.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct BidiClassMask(u32);

impl BidiClassMask {
    /// Whether the masks share a value: never, so no domain is a bidi domain.
    #[inline(always)]
    pub fn intersects(self, _other: BidiClassMask) -> bool {
        false
    }
}

/// The adapter `idna` holds.
#[non_exhaustive]
pub struct Adapter {}

impl Default for Adapter {
    fn default() -> Self {
        Self::new()
    }
}

impl Adapter {
    /// The adapter (there is no data to load).
    #[inline(always)]
    pub const fn new() -> Self {
        Self {}
    }

    /// Canonical_Combining_Class = Virama: always, so a zero-width joiner
    /// never fails CONTEXTJ.
    #[inline(always)]
    pub fn is_virama(&self, _c: char) -> bool {
        true
    }

    /// General_Category = Mark: never, so no label fails for starting with one.
    #[inline(always)]
    pub fn is_mark(&self, _c: char) -> bool {
        false
    }

    /// Bidi_Class: left-to-right for every character.
    #[inline(always)]
    pub fn bidi_class(&self, _c: char) -> BidiClass {
        BidiClass(0)
    }

    /// Joining_Type: one value for every character.
    #[inline(always)]
    pub fn joining_type(&self, _c: char) -> JoiningType {
        JoiningType(0)
    }

    /// UTS 46 mapping and normalization, reduced to lower-casing (`core`'s
    /// case tables, a few KB): `É` becomes `é`; nothing else is mapped.
    #[inline(always)]
    pub fn map_normalize<'delegate, I: Iterator<Item = char> + 'delegate>(
        &'delegate self,
        iter: I,
    ) -> impl Iterator<Item = char> + 'delegate {
        iter.flat_map(char::to_lowercase)
    }

    /// NFC check of a decoded `xn--` label: the label as it is.
    #[inline(always)]
    pub fn normalize_validate<'delegate, I: Iterator<Item = char> + 'delegate>(
        &'delegate self,
        iter: I,
    ) -> impl Iterator<Item = char> + 'delegate {
        iter
    }
}
