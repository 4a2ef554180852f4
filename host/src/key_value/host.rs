//! The WIT surface of `spin:key-value@3.0.0` and `fermyon:spin/key-value@2.0.0`: stores as
//! resources, each call handed to its [`Store`].

use super::{KeyValueCtx, Store};
use crate::bindings::fermyon::spin::key_value as v2;
use crate::bindings::spin::key_value::key_value::{self as v3, Error};
use std::sync::Arc;
use wasmtime::component::{Accessor, FutureReader, HasData, Resource, ResourceTable, StreamReader};

/// The host side of a guest's `store` resource, in either version of the interface.
pub struct GuestStore(Arc<Store>);

/// What the key-value implementation borrows from the store.
pub struct KeyValueView<'a> {
    /// The component's stores.
    pub ctx: &'a KeyValueCtx,
    /// Where the guest's store resources live.
    pub table: &'a mut ResourceTable,
}

/// [`HasData`] marker for the key-value implementation.
pub struct KeyValue;

impl HasData for KeyValue {
    type Data<'a> = KeyValueView<'a>;
}

impl KeyValueView<'_> {
    fn open(&mut self, label: &str) -> wasmtime::Result<Result<Resource<GuestStore>, Error>> {
        Ok(match self.ctx.open(label) {
            Ok(store) => Ok(self.table.push(GuestStore(store))?),
            Err(error) => Err(error),
        })
    }

    /// A handle on the guest's store that outlives this borrow of the wasm store.
    fn store(&self, store: &Resource<GuestStore>) -> wasmtime::Result<Arc<Store>> {
        Ok(self.table.get(store)?.0.clone())
    }
}

fn v2_error(error: Error) -> v2::Error {
    match error {
        Error::StoreTableFull => v2::Error::StoreTableFull,
        Error::NoSuchStore => v2::Error::NoSuchStore,
        Error::AccessDenied => v2::Error::AccessDenied,
        Error::Other(message) => v2::Error::Other(message),
    }
}

impl v2::Host for KeyValueView<'_> {}

impl v2::HostStore for KeyValueView<'_> {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<GuestStore>, v2::Error>> {
        Ok(KeyValueView::open(self, &label)?.map_err(v2_error))
    }

    async fn get(
        &mut self,
        store: Resource<GuestStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, v2::Error>> {
        Ok(self.store(&store)?.get(key).await.map_err(v2_error))
    }

    async fn set(
        &mut self,
        store: Resource<GuestStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), v2::Error>> {
        Ok(self.store(&store)?.set(key, value).await.map_err(v2_error))
    }

    async fn delete(
        &mut self,
        store: Resource<GuestStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), v2::Error>> {
        Ok(self.store(&store)?.delete(key).await.map_err(v2_error))
    }

    async fn exists(
        &mut self,
        store: Resource<GuestStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, v2::Error>> {
        Ok(self.store(&store)?.exists(key).await.map_err(v2_error))
    }

    async fn get_keys(
        &mut self,
        store: Resource<GuestStore>,
    ) -> wasmtime::Result<Result<Vec<String>, v2::Error>> {
        Ok(self.store(&store)?.keys().await.map_err(v2_error))
    }

    async fn drop(&mut self, store: Resource<GuestStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl v3::Host for KeyValueView<'_> {}

impl v3::HostStore for KeyValueView<'_> {
    fn drop(&mut self, store: Resource<GuestStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<T> v3::HostStoreWithStore<T> for KeyValue {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<GuestStore>, Error>> {
        accessor.with(|mut access| access.get().open(&label))
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<GuestStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let store = accessor.with(|mut access| access.get().store(&store))?;
        Ok(store.get(key).await)
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<GuestStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let store = accessor.with(|mut access| access.get().store(&store))?;
        Ok(store.set(key, value).await)
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<GuestStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let store = accessor.with(|mut access| access.get().store(&store))?;
        Ok(store.delete(key).await)
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<GuestStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let store = accessor.with(|mut access| access.get().store(&store))?;
        Ok(store.exists(key).await)
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<GuestStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let store = accessor.with(|mut access| access.get().store(&store))?;
        // The keys are read at once, then streamed; a failure ends an empty stream.
        let (keys, outcome) = match store.keys().await {
            Ok(keys) => (keys, Ok(())),
            Err(error) => (Vec::new(), Err(error)),
        };
        accessor.with(|mut access| {
            let keys = StreamReader::new(&mut access, keys)?;
            let outcome =
                FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(outcome) })?;
            Ok((keys, outcome))
        })
    }
}
