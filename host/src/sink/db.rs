//! The PostgreSQL side: connecting (one sink per database, held by an advisory lock), creating or checking a
//! dataset's table, and writing a dataset's pending changes with one `DELETE` and one `INSERT … ON CONFLICT`.

use std::str::FromStr;

use postgres::{Client, NoTls};

use super::cursor;
use super::error::SinkError;
use super::rows::{self, Pending};
use super::schema::{TableSpec, quote};
use crate::datasets::ManuscriptTypes;

/// The advisory lock key a sink holds on its database for as long as it runs.
const LOCK_KEY: i64 = 0x6376_6d5f_7369_6e6b; // "cvm_sink"

/// The name the sink's connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "cvm-sink";

/// `e` and the errors under it, as one line (the client's own message alone may say only "error connecting").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A connection to the sink's database.
pub struct Db {
    client: Client,
}

impl Db {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database` or a `key=value` string), takes the
    /// sink's lock and creates the sink's own tables if missing.
    pub fn connect(url: &str) -> Result<Db, SinkError> {
        let mut config =
            postgres::Config::from_str(url).map_err(|e| SinkError::BadUrl(e.to_string()))?;
        config.application_name(APPLICATION_NAME);
        let mut client = config
            .connect(NoTls)
            .map_err(|e| SinkError::Connect(with_causes(&e)))?;
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])?
            .get(0);
        if !locked {
            return Err(SinkError::Connect(
                "another cvm sink is writing this database (it holds the sink's advisory lock): stop it first"
                    .into(),
            ));
        }
        client.batch_execute(cursor::CREATE)?;
        Ok(Db { client })
    }

    /// The client, for reading the cursor and the sink's tables.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Opens the transaction that a batch of blocks and its cursor are written in.
    pub fn begin(&mut self) -> Result<(), SinkError> {
        Ok(self.client.batch_execute("BEGIN")?)
    }

    /// Commits the open transaction.
    pub fn commit(&mut self) -> Result<(), SinkError> {
        Ok(self.client.batch_execute("COMMIT")?)
    }

    /// Creates `spec`'s table, or checks that the existing one holds this dataset with these columns.
    pub fn ensure_table(&mut self, spec: &TableSpec) -> Result<(), SinkError> {
        let dataset = format!("{}/{}", spec.manuscript, spec.dataset());
        let owner = self.client.query_opt(
            "SELECT manuscript, dataset FROM cvm_sink_tables WHERE table_name = $1",
            &[&spec.table],
        )?;
        match owner {
            Some(row) => {
                let (m, d): (String, String) = (row.get(0), row.get(1));
                if (m.as_str(), d.as_str()) != (spec.manuscript.as_str(), spec.dataset()) {
                    return Err(SinkError::TableTaken {
                        table: spec.table.clone(),
                        found: format!("dataset {m}/{d}"),
                        expected: dataset,
                    });
                }
            }
            None => {
                self.client.execute(
                    "INSERT INTO cvm_sink_tables (table_name, manuscript, dataset) VALUES ($1, $2, $3)",
                    &[&spec.table, &spec.manuscript, &spec.dataset()],
                )?;
            }
        }
        self.client.batch_execute(&spec.create_sql())?;
        let found: Vec<String> = self
            .client
            .query(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[&spec.table],
            )?
            .into_iter()
            .map(|row| format!("{} {}", row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect();
        let expected: Vec<String> = spec
            .columns()
            .into_iter()
            .map(|(name, ty)| format!("{name} {}", ty.sql()))
            .collect();
        if found != expected {
            return Err(SinkError::ColumnsChanged {
                table: spec.table.clone(),
                dataset,
                found: found.join(", "),
                expected: expected.join(", "),
            });
        }
        Ok(())
    }

    /// Writes and empties `pending` into `spec`'s table (typed columns decoded with `types`); returns the rows
    /// written or deleted.
    pub fn write(
        &mut self,
        spec: &TableSpec,
        types: Option<&ManuscriptTypes>,
        pending: &mut Pending,
    ) -> Result<usize, SinkError> {
        let (removed, written) = pending.take();
        let table = quote(&spec.table);
        if !removed.is_empty() {
            self.client.execute(
                &format!("DELETE FROM {table} WHERE \"record_key\" = ANY($1::bytea[])"),
                &[&removed],
            )?;
        }
        if !written.is_empty() {
            let columns = spec.columns();
            let data = rows::encode(spec, types, &written);
            let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
            let arrays: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| {
                    let n = i + 1;
                    match ty.sql() {
                        "bigint" | "bytea" | "boolean" | "text" => format!("${n}::{}[]", ty.sql()),
                        other => format!("${n}::text[]::{other}[]"),
                    }
                })
                .collect();
            let updates: Vec<String> = names[1..]
                .iter()
                .map(|n| format!("{n} = EXCLUDED.{n}"))
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({}) SELECT * FROM unnest({}) ON CONFLICT (\"record_key\") DO UPDATE SET {}",
                names.join(", "),
                arrays.join(", "),
                updates.join(", ")
            );
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                data.iter().map(rows::ColumnData::param).collect();
            self.client.execute(&sql, &params)?;
        }
        Ok(removed.len() + written.len())
    }
}
