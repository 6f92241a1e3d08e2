//! `lamina`: the Lamina binary.

mod cli;
mod config;
mod credentials;
mod runtimes;
mod server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lamina",
    version,
    about = "A self-hosted, AWS Lambda compatible serverless platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Lambda-compatible API server.
    Server(config::ServerArgs),
    #[command(flatten)]
    Cli(cli::CliCommand),
}

fn main() -> std::process::ExitCode {
    // `lamina __jail` builds one execution environment. It must stay single-threaded, so it
    // runs before anything else (no tokio, no logging threads).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == lamina_sandbox::JAIL_ARG)
    {
        lamina_sandbox::jail_main();
    }
    let cli = Cli::parse();
    // The server logs what it does; the terminal commands only warnings.
    let default_level = match cli.command {
        Command::Server(_) => "info",
        Command::Cli(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAMINA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let result = match cli.command {
        Command::Server(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::new)
            .and_then(|rt| rt.block_on(server::run(args)))
            .map(|()| std::process::ExitCode::SUCCESS),
        Command::Cli(command) => cli::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lamina: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
