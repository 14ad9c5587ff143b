#[tokio::main]
async fn main() -> std::process::ExitCode {
    match crm::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("crm: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
