//! Host bindings of the Spin interfaces served besides WASI (`wit/`), generated once here so
//! the capability modules share one set of types.

wasmtime::component::bindgen!({
    path: "wit",
    world: "fn-host:host/spin-imports",
    imports: {
        // The pre-3.1 synchronous functions do blocking work too, so they are async on the host.
        "spin:sqlite/sqlite.[static]connection.open": async | store | trappable,
        "spin:sqlite/sqlite.[method]connection.execute": async | store | trappable,
        "spin:sqlite/sqlite.[method]connection.last-insert-rowid": async | store | trappable,
        "spin:sqlite/sqlite.[method]connection.changes": async | store | trappable,
        "spin:sqlite/sqlite.[static]connection.open-async": async | store | trappable,
        "spin:sqlite/sqlite.[method]connection.execute-async": async | store | trappable,
        "spin:sqlite/sqlite.[method]connection.last-insert-rowid-async": async | store | trappable,
        "spin:sqlite/sqlite.[method]connection.changes-async": async | store | trappable,
        // Spin 2's synchronous interfaces over a database: async on the host for the same reason.
        "fermyon:spin/sqlite": async | trappable,
        "fermyon:spin/key-value": async | trappable,
        // Each call waits for the server.
        "fermyon:spin/redis": async | trappable,
        "fermyon:spin/mqtt": async | trappable,
        default: trappable,
    },
    with: {
        "spin:sqlite/sqlite.connection": crate::sqlite::GuestConnection,
        "fermyon:spin/sqlite.connection": crate::sqlite::GuestConnection,
        "spin:key-value/key-value.store": crate::key_value::GuestStore,
        "fermyon:spin/key-value.store": crate::key_value::GuestStore,
        "fermyon:spin/redis.connection": crate::redis::GuestRedis,
        "fermyon:spin/mqtt.connection": crate::mqtt::GuestMqtt,
    },
});
