//! The axum example as a test: it serves on a loopback port, sends itself
//! its requests over a real socket, and fails on any unexpected answer.

#[path = "../../../examples/axum_service.rs"]
#[allow(dead_code)] // its `main`: the test calls `run`
mod example;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_serves_its_requests_over_a_loopback_socket() {
    if let Err(e) = example::run().await {
        panic!("{e}");
    }
}
