// The host allocates per request (headers, bodies, guest values); mimalloc keeps that cheap
// under concurrency where the system allocator contends.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    host::cli::main()
}
