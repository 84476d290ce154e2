//! The population register as a CSV table: how the embedded default register is filled from
//! a file, and how a register (or a synthetic population) is written out.
//!
//! The core does no IO of its own: parsing reads from a `&str` or from a reader the caller
//! passes in, and writing goes into a writer the caller passes in. Parsing is streaming — an
//! iterator of `Result<Person, _>` — so a file of millions of lines is never held as a
//! second copy in memory.
//!
//! Columns (header line required, any order, no extra columns):
//! `iin,surname,given_name,patronymic,phone,language,region,address,document_kind,
//! document_number,issued_on,last_valid_day`. Every field is checked with the domain types;
//! an error names the 1-based line and the column.

use std::fmt::{self, Write as _};
use std::io;

use jiff::civil::Date;

use super::{BadPhone, Person, Phone, RegisteredDocument};
use crate::document::{DocumentKind, DocumentNumber, DocumentNumberError, UnknownDocumentKind};
use crate::iin::{Iin, IinError};
use crate::lang::{Lang, UnknownLang};
use crate::region::{ReferenceError, RegionCode, Regions};

/// The header line, in the order [`PersonWriter`] writes the columns.
pub const HEADER: [&str; 12] = [
    "iin",
    "surname",
    "given_name",
    "patronymic",
    "phone",
    "language",
    "region",
    "address",
    "document_kind",
    "document_number",
    "issued_on",
    "last_valid_day",
];

/// A column of the register table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Iin,
    Surname,
    GivenName,
    Patronymic,
    Phone,
    Language,
    Region,
    Address,
    DocumentKind,
    DocumentNumber,
    IssuedOn,
    LastValidDay,
}

impl Column {
    /// In the order of [`HEADER`].
    pub const ALL: [Column; 12] = [
        Column::Iin,
        Column::Surname,
        Column::GivenName,
        Column::Patronymic,
        Column::Phone,
        Column::Language,
        Column::Region,
        Column::Address,
        Column::DocumentKind,
        Column::DocumentNumber,
        Column::IssuedOn,
        Column::LastValidDay,
    ];

    /// The name in the header line.
    pub fn name(self) -> &'static str {
        HEADER[self as usize]
    }

    fn from_name(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("the field is empty")]
    Empty,
    #[error("the field contains a control character")]
    ControlCharacter,
    #[error("not a valid IIN: {0}")]
    Iin(IinError),
    #[error("{0}")]
    Phone(BadPhone),
    #[error("{0}")]
    Language(UnknownLang),
    #[error("{0}")]
    RegionCode(ReferenceError),
    #[error("region {0} is not in the region list")]
    UnknownRegion(RegionCode),
    #[error("{0}")]
    DocumentKind(UnknownDocumentKind),
    #[error("{0}")]
    DocumentNumber(DocumentNumberError),
    #[error("{0:?} is not a date of the form YYYY-MM-DD")]
    Date(String),
    #[error("the last valid day {last_valid_day} is before the issue date {issued_on}")]
    EndsBeforeIssue {
        issued_on: Date,
        last_valid_day: Date,
    },
}

impl FieldProblem {
    pub fn code(&self) -> &'static str {
        match self {
            FieldProblem::Empty => "empty_field",
            FieldProblem::ControlCharacter => "control_character",
            FieldProblem::Iin(_) => "bad_iin",
            FieldProblem::Phone(_) => "bad_phone",
            FieldProblem::Language(_) => "unknown_language",
            FieldProblem::RegionCode(_) => "bad_region_code",
            FieldProblem::UnknownRegion(_) => "unknown_region",
            FieldProblem::DocumentKind(_) => "unknown_document_kind",
            FieldProblem::DocumentNumber(_) => "bad_document_number",
            FieldProblem::Date(_) => "bad_date",
            FieldProblem::EndsBeforeIssue { .. } => "ends_before_issue",
        }
    }
}

/// Why a register CSV could not be read (or written). Lines are 1-based, as an editor shows
/// them; `field` is the 1-based position of the column in that file's header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterCsvError {
    #[error("the file is empty: it needs a header line naming the columns")]
    NoHeader,
    #[error("line {line}: the header has no column {column}")]
    MissingColumn { line: u64, column: Column },
    #[error("line {line}, field {field}: unknown column {name:?}")]
    UnknownColumn {
        line: u64,
        field: usize,
        name: String,
    },
    #[error("line {line}, field {field}: column {column} appears twice")]
    DuplicateColumn {
        line: u64,
        field: usize,
        column: Column,
    },
    #[error("line {line}: not readable as CSV: {message}")]
    Malformed { line: u64, message: String },
    #[error("line {line}: {found} fields, the header has {expected}")]
    FieldCount {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("line {line}, column {column} (field {field}): {problem}")]
    Field {
        line: u64,
        column: Column,
        field: usize,
        problem: FieldProblem,
    },
    #[error("writing the register CSV failed: {message}")]
    Write { message: String },
}

impl RegisterCsvError {
    /// Stable machine code. For a bad field it is the field problem's code (`bad_iin`, …).
    pub fn code(&self) -> &'static str {
        match self {
            RegisterCsvError::NoHeader => "no_header",
            RegisterCsvError::MissingColumn { .. } => "missing_column",
            RegisterCsvError::UnknownColumn { .. } => "unknown_column",
            RegisterCsvError::DuplicateColumn { .. } => "duplicate_column",
            RegisterCsvError::Malformed { .. } => "malformed_csv",
            RegisterCsvError::FieldCount { .. } => "field_count",
            RegisterCsvError::Field { problem, .. } => problem.code(),
            RegisterCsvError::Write { .. } => "write_failed",
        }
    }

    /// The 1-based line the error is on, when it is on one.
    pub fn line(&self) -> Option<u64> {
        match self {
            RegisterCsvError::MissingColumn { line, .. }
            | RegisterCsvError::UnknownColumn { line, .. }
            | RegisterCsvError::DuplicateColumn { line, .. }
            | RegisterCsvError::Malformed { line, .. }
            | RegisterCsvError::FieldCount { line, .. }
            | RegisterCsvError::Field { line, .. } => Some(*line),
            RegisterCsvError::NoHeader | RegisterCsvError::Write { .. } => None,
        }
    }

    /// The column the error is in, when it is in one.
    pub fn column(&self) -> Option<Column> {
        match self {
            RegisterCsvError::MissingColumn { column, .. }
            | RegisterCsvError::DuplicateColumn { column, .. }
            | RegisterCsvError::Field { column, .. } => Some(*column),
            _ => None,
        }
    }
}

fn malformed(e: &::csv::Error) -> RegisterCsvError {
    RegisterCsvError::Malformed {
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    }
}

fn write_failed(e: impl fmt::Display) -> RegisterCsvError {
    RegisterCsvError::Write {
        message: e.to_string(),
    }
}

/// Where each column is in a particular file.
#[derive(Debug, Clone, Copy)]
struct Layout {
    fields: usize,
    index: [usize; 12],
}

/// Streaming parser: yields one `Result<Person, _>` per data line.
///
/// A bad data line yields its error and parsing goes on with the next line, so a caller may
/// stop at the first error or collect them all. A bad header, or a failure of the
/// underlying reader, ends the iteration after its error.
pub struct PersonReader<R> {
    reader: ::csv::Reader<R>,
    record: ::csv::StringRecord,
    /// Region codes are two digits, so a table of 100 answers "is it in the list" per line
    /// without borrowing the region list for the reader's lifetime.
    known_regions: [bool; 100],
    layout: Option<Layout>,
    done: bool,
}

impl<'a> PersonReader<&'a [u8]> {
    /// Reads the register from text already in memory.
    pub fn from_text(text: &'a str, regions: &Regions) -> PersonReader<&'a [u8]> {
        PersonReader::from_reader(text.as_bytes(), regions)
    }
}

impl<R: io::Read> PersonReader<R> {
    /// Reads the register from a reader the caller owns (a file, a network body, …).
    /// Regions are checked against `regions`.
    pub fn from_reader(reader: R, regions: &Regions) -> PersonReader<R> {
        let mut known_regions = [false; 100];
        for r in regions.iter() {
            if let Some(slot) = known_regions.get_mut(usize::from(r.code.get())) {
                *slot = true;
            }
        }
        let reader = ::csv::ReaderBuilder::new()
            // The header is checked here, by name, to report precise errors.
            .has_headers(false)
            // Field counts are checked here too, to name the line in our own error.
            .flexible(true)
            .from_reader(reader);
        PersonReader {
            reader,
            record: ::csv::StringRecord::new(),
            known_regions,
            layout: None,
            done: false,
        }
    }

    fn read_header(&mut self) -> Result<Layout, RegisterCsvError> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Err(RegisterCsvError::NoHeader),
            Err(e) => return Err(malformed(&e)),
        }
        let line = self.line();
        let mut index = [usize::MAX; 12];
        for (i, raw) in self.record.iter().enumerate() {
            // A spreadsheet's UTF-8 byte-order mark sticks to the first name.
            let name = raw.trim_start_matches('\u{feff}').trim();
            let column =
                Column::from_name(name).ok_or_else(|| RegisterCsvError::UnknownColumn {
                    line,
                    field: i + 1,
                    name: name.to_string(),
                })?;
            let slot = &mut index[column as usize];
            if *slot != usize::MAX {
                return Err(RegisterCsvError::DuplicateColumn {
                    line,
                    field: i + 1,
                    column,
                });
            }
            *slot = i;
        }
        if let Some(column) = Column::ALL
            .into_iter()
            .find(|c| index[*c as usize] == usize::MAX)
        {
            return Err(RegisterCsvError::MissingColumn { line, column });
        }
        Ok(Layout {
            fields: self.record.len(),
            index,
        })
    }

    fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    /// The person on the current record. Fields are checked in [`HEADER`] order, so the
    /// error reported is the first in that order (the file's order when it uses the
    /// standard header).
    fn person(&self, layout: &Layout) -> Result<Person, RegisterCsvError> {
        let line = self.line();
        if self.record.len() != layout.fields {
            return Err(RegisterCsvError::FieldCount {
                line,
                expected: layout.fields,
                found: self.record.len(),
            });
        }
        let field = |c: Column| layout.index[c as usize];
        let get = |c: Column| self.record.get(field(c)).unwrap_or("");
        let at = |c: Column| {
            move |problem: FieldProblem| RegisterCsvError::Field {
                line,
                column: c,
                field: field(c) + 1,
                problem,
            }
        };
        let text = |c: Column| required_text(get(c)).map_err(at(c));

        let iin = Iin::parse(get(Column::Iin))
            .map_err(FieldProblem::Iin)
            .map_err(at(Column::Iin))?;
        let surname = text(Column::Surname)?;
        let given_name = text(Column::GivenName)?;
        let patronymic = optional_text(get(Column::Patronymic)).map_err(at(Column::Patronymic))?;
        let phone = Phone::parse(get(Column::Phone))
            .map_err(FieldProblem::Phone)
            .map_err(at(Column::Phone))?;
        let language = get(Column::Language)
            .trim()
            .parse::<Lang>()
            .map_err(FieldProblem::Language)
            .map_err(at(Column::Language))?;
        let region = get(Column::Region)
            .parse::<RegionCode>()
            .map_err(FieldProblem::RegionCode)
            .map_err(at(Column::Region))?;
        if !self
            .known_regions
            .get(usize::from(region.get()))
            .copied()
            .unwrap_or(false)
        {
            return Err(at(Column::Region)(FieldProblem::UnknownRegion(region)));
        }
        let address = text(Column::Address)?;
        let kind = get(Column::DocumentKind)
            .parse::<DocumentKind>()
            .map_err(FieldProblem::DocumentKind)
            .map_err(at(Column::DocumentKind))?;
        let number = DocumentNumber::parse(kind, get(Column::DocumentNumber))
            .map_err(FieldProblem::DocumentNumber)
            .map_err(at(Column::DocumentNumber))?;
        let issued_on = parse_date(get(Column::IssuedOn)).map_err(at(Column::IssuedOn))?;
        let last_valid_day =
            parse_date(get(Column::LastValidDay)).map_err(at(Column::LastValidDay))?;
        // Whether the validity matches the kind's ten years is deliberately not checked: the
        // register is the source of truth. A validity ending before issue is not a fact but a
        // broken line.
        if last_valid_day < issued_on {
            return Err(at(Column::LastValidDay)(FieldProblem::EndsBeforeIssue {
                issued_on,
                last_valid_day,
            }));
        }
        Ok(Person {
            iin,
            surname,
            given_name,
            patronymic,
            phone,
            language,
            region,
            address,
            document: RegisteredDocument {
                kind,
                number: number.as_str().to_string(),
                issued_on,
                last_valid_day,
            },
        })
    }
}

impl<R: io::Read> Iterator for PersonReader<R> {
    type Item = Result<Person, RegisterCsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let layout = match self.layout {
            Some(layout) => layout,
            None => match self.read_header() {
                Ok(layout) => {
                    self.layout = Some(layout);
                    layout
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            },
        };
        match self.reader.read_record(&mut self.record) {
            Ok(true) => Some(self.person(&layout)),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                // Bad UTF-8 spoils one record; a failing reader spoils the rest.
                if e.is_io_error() {
                    self.done = true;
                }
                Some(Err(malformed(&e)))
            }
        }
    }
}

/// Parses a whole register held in memory, stopping at the first error.
pub fn parse_all(text: &str, regions: &Regions) -> Result<Vec<Person>, RegisterCsvError> {
    PersonReader::from_text(text, regions).collect()
}

fn required_text(raw: &str) -> Result<String, FieldProblem> {
    optional_text(raw)?.ok_or(FieldProblem::Empty)
}

/// Text fields are trimmed; an empty one is absent. Control characters (a newline inside a
/// quoted field, a tab) have no place in a name or an address and would break every
/// screen and notice that shows them.
fn optional_text(raw: &str) -> Result<Option<String>, FieldProblem> {
    let s = raw.trim();
    if s.chars().any(char::is_control) {
        return Err(FieldProblem::ControlCharacter);
    }
    Ok((!s.is_empty()).then(|| s.to_string()))
}

/// Strictly `YYYY-MM-DD`: a register file with `15.03.2016` or `2016-3-15` is an error to
/// fix at the source, not something to guess at.
fn parse_date(raw: &str) -> Result<Date, FieldProblem> {
    let s = raw.trim();
    let bad = || FieldProblem::Date(s.to_string());
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return Err(bad());
    }
    let year: i16 = s[0..4].parse().map_err(|_| bad())?;
    let month: i8 = s[5..7].parse().map_err(|_| bad())?;
    let day: i8 = s[8..10].parse().map_err(|_| bad())?;
    Date::new(year, month, day).map_err(|_| bad())
}

/// Writes people as register CSV into a writer the caller owns. The header is written on
/// creation; call [`PersonWriter::finish`] to flush and get the writer back.
pub struct PersonWriter<W: io::Write> {
    inner: ::csv::Writer<W>,
    /// Reused for the formatted fields (IIN, region, dates), so writing a million lines
    /// does not allocate a million times over.
    buf: String,
}

impl<W: io::Write> PersonWriter<W> {
    pub fn new(writer: W) -> Result<PersonWriter<W>, RegisterCsvError> {
        let mut inner = ::csv::Writer::from_writer(writer);
        inner.write_record(HEADER).map_err(write_failed)?;
        Ok(PersonWriter {
            inner,
            buf: String::with_capacity(16),
        })
    }

    pub fn write(&mut self, person: &Person) -> Result<(), RegisterCsvError> {
        let doc = &person.document;
        self.formatted(&person.iin)?;
        self.field(&person.surname)?;
        self.field(&person.given_name)?;
        self.field(person.patronymic.as_deref().unwrap_or(""))?;
        self.field(person.phone.as_str())?;
        self.field(person.language.tag())?;
        self.formatted(&person.region)?;
        self.field(&person.address)?;
        self.field(doc.kind.as_str())?;
        self.field(&doc.number)?;
        self.formatted(&doc.issued_on)?;
        self.formatted(&doc.last_valid_day)?;
        // An empty record after the fields ends the line.
        self.inner.write_record(None::<&[u8]>).map_err(write_failed)
    }

    fn field(&mut self, value: &str) -> Result<(), RegisterCsvError> {
        self.inner.write_field(value).map_err(write_failed)
    }

    fn formatted(&mut self, value: &dyn fmt::Display) -> Result<(), RegisterCsvError> {
        self.buf.clear();
        write!(self.buf, "{value}").map_err(write_failed)?;
        self.inner
            .write_field(self.buf.as_bytes())
            .map_err(write_failed)
    }

    /// Flushes and returns the caller's writer.
    pub fn finish(self) -> Result<W, RegisterCsvError> {
        self.inner.into_inner().map_err(|e| write_failed(e.error()))
    }
}

/// Writes `people` (header first) into `writer` and returns it.
pub fn write_csv<'p, W: io::Write>(
    writer: W,
    people: impl IntoIterator<Item = &'p Person>,
) -> Result<W, RegisterCsvError> {
    let mut out = PersonWriter::new(writer)?;
    for person in people {
        out.write(person)?;
    }
    out.finish()
}

/// The register CSV of `people` as a string.
pub fn to_csv_string<'p>(people: impl IntoIterator<Item = &'p Person>) -> String {
    // Writing into a Vec cannot fail and every field is UTF-8 text, so neither fallback is
    // ever taken; they exist so the core never panics.
    let bytes = write_csv(Vec::new(), people).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iin::Sex;
    use crate::register::synthetic;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn header() -> String {
        HEADER.join(",")
    }

    fn sample() -> Person {
        Person {
            iin: Iin::from_parts(date(1990, 5, 15), Sex::Male, 123).unwrap(),
            surname: "Сүлейменов".into(),
            given_name: "Нұрлан".into(),
            patronymic: Some("Серікұлы".into()),
            phone: Phone::parse("+77011234567").unwrap(),
            language: Lang::Kk,
            region: "71".parse().unwrap(),
            address: "г. Астана, ул. Абая, д. 1, кв. 2".into(),
            document: RegisteredDocument {
                kind: DocumentKind::IdentityCard,
                number: "041234567".into(),
                issued_on: date(2016, 3, 15),
                last_valid_day: date(2026, 3, 14),
            },
        }
    }

    /// The standard fields of `sample()`, to be altered one at a time.
    fn fields() -> Vec<String> {
        vec![
            "900515301234".into(),
            "Сүлейменов".into(),
            "Нұрлан".into(),
            "Серікұлы".into(),
            "+77011234567".into(),
            "kk".into(),
            "71".into(),
            "\"г. Астана, ул. Абая, д. 1, кв. 2\"".into(),
            "identity-card".into(),
            "041234567".into(),
            "2016-03-15".into(),
            "2026-03-14".into(),
        ]
    }

    /// A file of header + two good lines + a third line with `column` set to `value`.
    fn file_with(column: Column, value: &str) -> String {
        let good = fields().join(",");
        let mut bad = fields();
        bad[column as usize] = value.to_string();
        format!("{}\n{good}\n{good}\n{}\n", header(), bad.join(","))
    }

    fn first_error(text: &str) -> RegisterCsvError {
        PersonReader::from_text(text, &Regions::builtin())
            .find_map(Result::err)
            .expect("an error")
    }

    #[test]
    fn the_sample_line_reads_as_the_sample_person() {
        let text = format!("{}\n{}\n", header(), fields().join(","));
        assert_eq!(
            parse_all(&text, &Regions::builtin()).unwrap(),
            vec![sample()]
        );
        assert_eq!(to_csv_string([&sample()]), text);
        let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, HEADER);
    }

    #[test]
    fn generated_people_round_trip_exactly() {
        let today = date(2025, 9, 1);
        let people: Vec<Person> = synthetic::generate(7, 3_000, today).collect();
        let text = to_csv_string(&people);
        let back = parse_all(&text, &Regions::builtin()).unwrap();
        assert_eq!(back, people);
        // Streaming writer into a caller's writer gives the same bytes.
        let mut w = PersonWriter::new(Vec::new()).unwrap();
        for p in &people {
            w.write(p).unwrap();
        }
        assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), text);
        // And writing the parsed people again is byte-identical.
        assert_eq!(to_csv_string(&back), text);
    }

    #[test]
    fn accepts_reordered_columns_a_bom_blank_lines_and_no_patronymic() {
        let mut f = fields();
        f[Column::Patronymic as usize] = String::new();
        let mut cols: Vec<usize> = (0..12).collect();
        cols.reverse();
        let head: Vec<&str> = cols.iter().map(|&i| HEADER[i]).collect();
        let row: Vec<&str> = cols.iter().map(|&i| f[i].as_str()).collect();
        let text = format!("\u{feff}{}\n\n{}\n", head.join(","), row.join(","));
        let people = parse_all(&text, &Regions::builtin()).unwrap();
        let mut want = sample();
        want.patronymic = None;
        assert_eq!(people, vec![want]);
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let cases: [(Column, &str, &str); 16] = [
            (Column::Iin, "900515301235", "bad_iin"),
            (Column::Iin, "90051530123", "bad_iin"),
            (Column::Surname, "  ", "empty_field"),
            (Column::GivenName, "", "empty_field"),
            (Column::Phone, "+7 701 123", "bad_phone"),
            (Column::Phone, "77011234567", "bad_phone"),
            (Column::Language, "de", "unknown_language"),
            (Column::Region, "99", "unknown_region"),
            (Column::Region, "7", "bad_region_code"),
            (Column::Address, "", "empty_field"),
            (Column::DocumentKind, "visa", "unknown_document_kind"),
            (Column::DocumentNumber, "12345678", "bad_document_number"),
            (Column::DocumentNumber, "N12345678", "bad_document_number"),
            (Column::IssuedOn, "2016-02-30", "bad_date"),
            (Column::IssuedOn, "15.03.2016", "bad_date"),
            (Column::LastValidDay, "2015-01-01", "ends_before_issue"),
        ];
        for (column, value, code) in cases {
            let e = first_error(&file_with(column, value));
            assert_eq!(e.code(), code, "{column} = {value:?}: {e}");
            assert_eq!(e.line(), Some(4), "{column} = {value:?}: {e}");
            assert_eq!(e.column(), Some(column), "{column} = {value:?}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("line 4, column {column}")),
                "{e}"
            );
        }
    }

    #[test]
    fn header_and_shape_errors() {
        let regions = Regions::builtin();
        let e = first_error("");
        assert_eq!(e, RegisterCsvError::NoHeader);

        let no_phone: Vec<&str> = HEADER.iter().copied().filter(|h| *h != "phone").collect();
        let e = first_error(&format!("{}\n", no_phone.join(",")));
        assert_eq!(
            e,
            RegisterCsvError::MissingColumn {
                line: 1,
                column: Column::Phone
            }
        );
        assert_eq!(e.code(), "missing_column");

        let e = first_error(&format!("{},pone\n", header()));
        assert_eq!(e.code(), "unknown_column");
        assert!(matches!(
            e,
            RegisterCsvError::UnknownColumn { field: 13, .. }
        ));

        let e = first_error(&format!("{},iin\n", header()));
        assert_eq!(e.code(), "duplicate_column");
        assert_eq!(e.column(), Some(Column::Iin));

        // A data line with a field missing.
        let short = fields()[..11].join(",");
        let text = format!("{}\n{}\n{short}\n", header(), fields().join(","));
        let e = first_error(&text);
        assert_eq!(
            e,
            RegisterCsvError::FieldCount {
                line: 3,
                expected: 12,
                found: 11
            }
        );

        // A header error ends the iteration; a line error does not.
        assert_eq!(PersonReader::from_text("x\n1\n2\n", &regions).count(), 1);
        let text = file_with(Column::Iin, "1");
        let results: Vec<_> = PersonReader::from_text(&text, &regions).collect();
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_err());
    }

    #[test]
    fn lines_count_newlines_inside_quotes() {
        let mut two = fields();
        two[Column::Address as usize] = "\"г. Астана,\nул. Абая\"".into();
        let mut three = fields();
        three[Column::Iin as usize] = "000000000000".into();
        let text = format!("{}\n{}\n{}\n", header(), two.join(","), three.join(","));
        let errors: Vec<RegisterCsvError> = PersonReader::from_text(&text, &Regions::builtin())
            .filter_map(Result::err)
            .collect();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].code(), "control_character");
        assert_eq!(errors[0].line(), Some(2));
        assert_eq!(errors[1].code(), "bad_iin");
        assert_eq!(errors[1].line(), Some(4));
    }

    #[test]
    fn the_region_list_passed_in_is_the_one_checked() {
        let only_almaty = Regions::from_csv(
            "code,name_ru,name_kk,name_en,centre_en\n75,город Алматы,Алматы қаласы,Almaty city,Almaty\n",
        )
        .unwrap();
        let text = format!("{}\n{}\n", header(), fields().join(","));
        let e = PersonReader::from_text(&text, &only_almaty)
            .find_map(Result::err)
            .unwrap();
        assert_eq!(e.code(), "unknown_region");
        assert_eq!(e.column(), Some(Column::Region));
    }

    #[test]
    fn reads_from_a_reader_and_reports_bad_utf8_by_line() {
        let mut bytes = format!("{}\n{}\n", header(), fields().join(",")).into_bytes();
        bytes.extend_from_slice(b"\xff\xfe,x\n");
        let results: Vec<_> =
            PersonReader::from_reader(bytes.as_slice(), &Regions::builtin()).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        let e = results[1].as_ref().unwrap_err();
        assert_eq!(e.code(), "malformed_csv");
        assert_eq!(e.line(), Some(3));
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(body in "[\\PC\",\\n\\r]{0,300}") {
            let text = format!("{}\n{body}", header());
            for r in PersonReader::from_text(&text, &Regions::builtin()) {
                let _ = r.map_err(|e| (e.code(), e.to_string()));
            }
        }

        #[test]
        fn mutated_good_lines_never_panic(
            column in 0usize..12,
            value in "[0-9a-zA-Zа-яА-ЯәұқңғүөһіӘҰ+\\-., \"]{0,20}",
        ) {
            let text = file_with(Column::ALL[column], &value);
            let results: Vec<_> = PersonReader::from_text(&text, &Regions::builtin()).collect();
            prop_assert!(!results.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            for r in PersonReader::from_reader(bytes.as_slice(), &Regions::builtin()) {
                let _ = r.map_err(|e| e.code());
            }
        }
    }
}
