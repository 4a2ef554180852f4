//! The WIT surface of `spin:sqlite@3.1.0`: guest connections as resources, statements handed
//! to their [`Session`], rows fed to the guest's stream.

use super::statement::{Rest, RowStream, Started, task_ended};
use super::{Session, SqliteCtx};
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

    fn push(
        &mut self,
        opened: Result<GuestConnection, Error>,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        Ok(match opened {
            Ok(connection) => Ok(self.table.push(connection)?),
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
        Rest::Streaming {
            rows: mut rest,
            outcome,
        } => {
            while let Some(batch) = rest.recv().await {
                rows.extend(batch);
            }
            outcome.await.unwrap_or_else(|_| Err(task_ended()))
        }
    };
    outcome.map(|()| QueryResult {
        columns: started.columns,
        rows,
    })
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
        let mut view = store.get();
        let opened = view
            .ctx
            .open(&database)
            .map(|session| GuestConnection(Arc::new(session)));
        view.push(opened)
    }

    async fn open_async(
        store: &Accessor<T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        store.with(|mut access| {
            let mut view = access.get();
            let opened = view
                .ctx
                .open(&database)
                .map(|session| GuestConnection(Arc::new(session)));
            view.push(opened)
        })
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
        Result<
            (
                Vec<String>,
                StreamReader<RowResult>,
                FutureReader<Result<(), Error>>,
            ),
            Error,
        >,
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
        let producer = RowProducer {
            first_rows: started.first_rows,
            rest,
        };
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
        Ok(store
            .get()
            .connection(&connection)?
            .0
            .stats()
            .last_insert_rowid)
    }

    async fn last_insert_rowid_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<i64> {
        store.with(|mut access| {
            Ok(access
                .get()
                .connection(&connection)?
                .0
                .stats()
                .last_insert_rowid)
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
