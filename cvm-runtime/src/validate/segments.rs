//! Tables and active segments: everything instantiation would check is checked at deploy, so a deployed module
//! never fails to instantiate for its own reasons.

use wasmparser::{
    ConstExpr, DataKind, DataSectionReader, ElementItems, ElementKind, ElementSectionReader,
    Operator, TableSectionReader,
};

use super::error::{ValidationError, invalid};
use crate::limits::Limits;

/// An active segment: where it starts (`None` when the offset is not an `i32.const`) and how long it is.
pub(super) struct ActiveSegment {
    index: u32,
    offset: Option<u32>,
    len: u64,
}

/// What instantiation reads: initial sizes and active segments.
#[derive(Default)]
pub(super) struct InitLayout {
    /// Initial pages of the module's memory (validation has checked there is at most one).
    pub(super) memory_pages: Option<u64>,
    tables: Vec<u64>,
    data: Vec<ActiveSegment>,
    elements: Vec<ActiveSegment>,
}

/// The offset of an active segment: an `i32.const`, the only constant expression the enabled features allow
/// here (`global.get` needs an imported global, and only functions may be imported; extended-const is off).
fn offset(expr: &ConstExpr<'_>) -> Option<u32> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().ok()? {
        Operator::I32Const { value } => value as u32,
        _ => return None,
    };
    matches!(ops.read().ok()?, Operator::End).then_some(value)
}

impl InitLayout {
    /// Records each table's initial size, within the cap and at most one table.
    pub(super) fn read_tables(
        &mut self,
        reader: TableSectionReader<'_>,
        limits: &Limits,
    ) -> Result<(), ValidationError> {
        for table in reader {
            let table = table.map_err(invalid)?;
            self.tables.push(table.ty.initial);
            if self.tables.len() > 1 {
                return Err(ValidationError::MultipleTables(self.tables.len() as u32));
            }
            if table.ty.initial > u64::from(limits.max_table_elements) {
                return Err(ValidationError::InitialTableTooLarge {
                    elements: table.ty.initial,
                    max: u64::from(limits.max_table_elements),
                });
            }
        }
        Ok(())
    }

    /// Records the active data segments.
    pub(super) fn read_data(
        &mut self,
        reader: DataSectionReader<'_>,
    ) -> Result<(), ValidationError> {
        for (index, data) in reader.into_iter().enumerate() {
            let data = data.map_err(invalid)?;
            if let DataKind::Active { offset_expr, .. } = &data.kind {
                self.data.push(ActiveSegment {
                    index: index as u32,
                    offset: offset(offset_expr),
                    len: data.data.len() as u64,
                });
            }
        }
        Ok(())
    }

    /// Records the active element segments.
    pub(super) fn read_elements(
        &mut self,
        reader: ElementSectionReader<'_>,
    ) -> Result<(), ValidationError> {
        for (index, element) in reader.into_iter().enumerate() {
            let element = element.map_err(invalid)?;
            if let ElementKind::Active { offset_expr, .. } = &element.kind {
                let len = match &element.items {
                    ElementItems::Functions(items) => items.count(),
                    ElementItems::Expressions(_, items) => items.count(),
                };
                self.elements.push(ActiveSegment {
                    index: index as u32,
                    offset: offset(offset_expr),
                    len: u64::from(len),
                });
            }
        }
        Ok(())
    }

    /// Every active segment fits in the initial memory or table (run after full validation, which guarantees
    /// that the memory or table a segment names exists and is the only one).
    pub(super) fn check_segments(&self) -> Result<(), ValidationError> {
        let memory_bytes = self.memory_pages.unwrap_or(0).saturating_mul(65_536);
        for segment in &self.data {
            let (offset, end) = segment.span("data")?;
            if end > memory_bytes {
                return Err(ValidationError::DataSegmentOutOfBounds {
                    index: segment.index,
                    offset,
                    end,
                    memory_bytes,
                });
            }
        }
        let table_elements = self.tables.first().copied().unwrap_or(0);
        for segment in &self.elements {
            let (offset, end) = segment.span("element")?;
            if end > table_elements {
                return Err(ValidationError::ElementSegmentOutOfBounds {
                    index: segment.index,
                    offset,
                    end,
                    table_elements,
                });
            }
        }
        Ok(())
    }
}

impl ActiveSegment {
    /// Start and end (exclusive) of the segment.
    fn span(&self, kind: &'static str) -> Result<(u64, u64), ValidationError> {
        let offset = self.offset.ok_or(ValidationError::SegmentOffset {
            kind,
            index: self.index,
        })?;
        Ok((u64::from(offset), u64::from(offset) + self.len))
    }
}
