//! The WIT surface of `spin:sqlite@3.1.0` and Spin 2's `fermyon:spin/sqlite@2.0.0`: guest
//! connections as resources, statements handed to their [`Session`], rows fed to the guest's
//! stream (or, for the synchronous `execute`, collected).

use super::statement::{Rest, RowStream, Started, task_ended};
use super::{Session, SqliteCtx};
use crate::bindings::fermyon::spin::sqlite as v2;
use crate::bindings::spin::sqlite::sqlite::{self, Error, QueryResult, RowResult, Value};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::oneshot;
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, Destination, FutureReader, HasData, Resource, ResourceTable, StreamProducer,
    StreamReader, StreamResult, VecBuffer,
};

/// The host side of a guest's `connection` resource. Clones share the session: a clone is a
/// handle that outlives a borrow of the store.
#[derive(Clone)]
pub struct GuestConnection(Arc<Session>);

/// Feeds the rows after the first batch to the guest's `stream<row-result>`.
struct RowProducer {
    first_rows: Vec<RowResult>,
    rest: Option<RowStream>,
}

impl<D> StreamProducer<D> for RowProducer {
    type Item = RowResult;
    type Buffer = VecBuffer<RowResult>;

    fn poll_produce<'a>(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, RowResult, VecBuffer<RowResult>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        // A zero-length read only asks for readiness; rows are delivered on a real read.
        if destination.remaining(store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if !self.first_rows.is_empty() {
            let rows = std::mem::take(&mut self.first_rows);
            destination.set_buffer(rows.into());
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        match rest.poll_recv(cx) {
            Poll::Ready(Some(rows)) => {
                destination.set_buffer(rows.into());
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Poll::Ready(None) => Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What the `spin:sqlite` implementation borrows from the store.
pub struct SqliteView<'a> {
    /// The component's databases.
    pub ctx: &'a SqliteCtx,
    /// Where the guest's connection resources live.
    pub table: &'a mut ResourceTable,
}

/// [`HasData`] marker for the `spin:sqlite` implementation.
pub struct Sqlite;

impl HasData for Sqlite {
    type Data<'a> = SqliteView<'a>;
}

impl SqliteView<'_> {
    /// A handle on the guest's connection that outlives this borrow of the store.
    fn connection(
        &self,
        connection: &Resource<GuestConnection>,
    ) -> wasmtime::Result<GuestConnection> {
        Ok(self.table.get(connection)?.clone())
    }

    /// A new connection to `database`, if this component may use it.
    fn open(
        &mut self,
        database: &str,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        Ok(match self.ctx.open(database) {
            Ok(session) => Ok(self.table.push(GuestConnection(Arc::new(session)))?),
            Err(error) => Err(error),
        })
    }
}

/// Runs a query to the end, for the synchronous `execute`.
async fn collect(started: Result<Started, Error>) -> Result<QueryResult, Error> {
    let started = started?;
    let mut rows = started.first_rows;
    let outcome = match started.rest {
        Rest::Done(outcome) => outcome,
        Rest::Streaming { rows: mut rest, outcome } => {
            while let Some(batch) = rest.recv().await {
                rows.extend(batch);
            }
            outcome.await.unwrap_or_else(|_| Err(task_ended()))
        }
    };
    outcome.map(|()| QueryResult { columns: started.columns, rows })
}

impl sqlite::Host for SqliteView<'_> {}

impl sqlite::HostConnection for SqliteView<'_> {
    fn drop(&mut self, connection: Resource<GuestConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl<T: Send> sqlite::HostConnectionWithStore<T> for Sqlite {
    async fn open(
        mut store: wasmtime::component::Access<'_, T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        store.get().open(&database)
    }

    async fn open_async(
        store: &Accessor<T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        store.with(|mut access| access.get().open(&database))
    }

    async fn execute(
        mut store: wasmtime::component::Access<'_, T, Self>,
        connection: Resource<GuestConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let connection = store.get().connection(&connection)?;
        Ok(collect(connection.0.execute(statement, parameters).await).await)
    }

    async fn execute_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<
        Result<(Vec<String>, StreamReader<RowResult>, FutureReader<Result<(), Error>>), Error>,
    > {
        let connection = store.with(|mut access| access.get().connection(&connection))?;
        let started = match connection.0.execute(statement, parameters).await {
            Ok(started) => started,
            Err(error) => return Ok(Err(error)),
        };
        let (rest, outcome) = match started.rest {
            Rest::Done(outcome) => (None, OutcomeSource::Ready(outcome)),
            Rest::Streaming { rows, outcome } => (Some(rows), OutcomeSource::Pending(outcome)),
        };
        let producer = RowProducer { first_rows: started.first_rows, rest };
        store.with(|mut access| {
            let rows = StreamReader::new(&mut access, producer)?;
            let outcome = FutureReader::new(&mut access, outcome.resolve())?;
            Ok(Ok((started.columns, rows, outcome)))
        })
    }

    async fn last_insert_rowid(
        mut store: wasmtime::component::Access<'_, T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<i64> {
        Ok(store.get().connection(&connection)?.0.stats().last_insert_rowid)
    }

    async fn last_insert_rowid_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<i64> {
        store.with(|mut access| {
            Ok(access.get().connection(&connection)?.0.stats().last_insert_rowid)
        })
    }

    async fn changes(
        mut store: wasmtime::component::Access<'_, T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<u64> {
        Ok(store.get().connection(&connection)?.0.stats().changes)
    }

    async fn changes_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<u64> {
        store.with(|mut access| Ok(access.get().connection(&connection)?.0.stats().changes))
    }
}

/// The query's outcome for the guest's `future<result<_, error>>`.
enum OutcomeSource {
    Ready(Result<(), Error>),
    Pending(oneshot::Receiver<Result<(), Error>>),
}

impl OutcomeSource {
    async fn resolve(self) -> wasmtime::Result<Result<(), Error>> {
        Ok(match self {
            OutcomeSource::Ready(outcome) => outcome,
            OutcomeSource::Pending(outcome) => outcome.await.unwrap_or_else(|_| Err(task_ended())),
        })
    }
}

impl v2::Host for SqliteView<'_> {}

impl v2::HostConnection for SqliteView<'_> {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, v2::Error>> {
        Ok(SqliteView::open(self, &database)?.map_err(v2_error))
    }

    async fn execute(
        &mut self,
        connection: Resource<GuestConnection>,
        statement: String,
        parameters: Vec<v2::Value>,
    ) -> wasmtime::Result<Result<v2::QueryResult, v2::Error>> {
        let connection = self.connection(&connection)?;
        let parameters = parameters.into_iter().map(from_v2_value).collect();
        let result = collect(connection.0.execute(statement, parameters).await).await;
        Ok(result
            .map(|result| v2::QueryResult {
                columns: result.columns,
                rows: result
                    .rows
                    .into_iter()
                    .map(|row| v2::RowResult {
                        values: row.values.into_iter().map(to_v2_value).collect(),
                    })
                    .collect(),
            })
            .map_err(v2_error))
    }

    async fn drop(&mut self, connection: Resource<GuestConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

fn from_v2_value(value: v2::Value) -> Value {
    match value {
        v2::Value::Integer(n) => Value::Integer(n),
        v2::Value::Real(x) => Value::Real(x),
        v2::Value::Text(text) => Value::Text(text),
        v2::Value::Blob(bytes) => Value::Blob(bytes),
        v2::Value::Null => Value::Null,
    }
}

fn to_v2_value(value: Value) -> v2::Value {
    match value {
        Value::Integer(n) => v2::Value::Integer(n),
        Value::Real(x) => v2::Value::Real(x),
        Value::Text(text) => v2::Value::Text(text),
        Value::Blob(bytes) => v2::Value::Blob(bytes),
        Value::Null => v2::Value::Null,
    }
}

fn v2_error(error: Error) -> v2::Error {
    match error {
        Error::NoSuchDatabase => v2::Error::NoSuchDatabase,
        Error::AccessDenied => v2::Error::AccessDenied,
        Error::InvalidConnection => v2::Error::InvalidConnection,
        Error::DatabaseFull => v2::Error::DatabaseFull,
        Error::Io(message) => v2::Error::Io(message),
    }
}
