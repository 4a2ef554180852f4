//! Typed reads of a result row's columns, by position, each failure naming its column.

use anyhow::{Context, Result};
use api_spin::sqlite::RowResult;

/// The columns of one row, as the types a store maps them to.
pub trait Columns {
    fn int(&self, column: usize) -> Result<i64>;
    fn text(&self, column: usize) -> Result<&str>;
}

impl Columns for RowResult {
    fn int(&self, column: usize) -> Result<i64> {
        self.get::<i64>(column).with_context(|| format!("column {column} is not an integer"))
    }

    fn text(&self, column: usize) -> Result<&str> {
        self.get::<&str>(column).with_context(|| format!("column {column} is not text"))
    }
}

#[cfg(test)]
mod tests {
    use api_spin::sqlite::Value;

    use super::*;

    #[test]
    fn reads_integers_and_text_naming_a_wrong_column() {
        let row =
            RowResult { values: vec![Value::Integer(7), Value::Text("rent".into()), Value::Null] };
        assert_eq!(row.int(0).unwrap(), 7);
        assert_eq!(row.text(1).unwrap(), "rent");
        assert_eq!(row.int(1).unwrap_err().to_string(), "column 1 is not an integer");
        assert_eq!(row.text(2).unwrap_err().to_string(), "column 2 is not text");
        assert_eq!(row.int(3).unwrap_err().to_string(), "column 3 is not an integer");
    }
}
