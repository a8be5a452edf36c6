//! The command line: argument parsing (clap derive) and one function per
//! command.

mod commands;
mod init;
pub mod progress;
mod report;
mod session;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::exit;

#[derive(Debug, Parser)]
#[command(
    name = "liftoff",
    version,
    about = "Installs the Astronomer platform from one declarative spec"
)]
pub struct Cli {
    /// The installation spec.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "liftoff.yaml"
    )]
    pub file: PathBuf,
    /// How to print results and progress.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Where state files live (default: `.liftoff` next to the spec).
    #[arg(long, global = true, env = "LIFTOFF_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Work on one part only: `cloud` (network, database, cluster) or
    /// `cluster` (namespace, secrets, Helm release, DNS).
    #[arg(long, global = true, value_enum, default_value_t = crate::compose::Phase::All)]
    pub phase: crate::compose::Phase,
    /// More logging (-v, -vv); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter spec built on a profile.
    Init {
        #[arg(long)]
        profile: String,
        /// Installation name.
        #[arg(long, default_value = "my-platform")]
        name: String,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check the spec and report every problem at once.
    Validate,
    /// Show what install would create, adopt, change or delete.
    Plan {
        /// Save the plan; `install PLAN` applies exactly it.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Create or converge everything the spec asks for.
    Install {
        /// A plan saved by `plan --out`; refused when stale.
        plan: Option<PathBuf>,
        /// Changes carried out at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
        /// Existing AWS network: add the missing load-balancer role tags to
        /// the given subnets instead of refusing.
        #[arg(long)]
        tag_subnets: bool,
    },
    /// Delete everything liftoff created for this installation, and nothing else.
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
        /// Delete databases without taking a final snapshot first.
        #[arg(long)]
        skip_final_snapshot: bool,
    },
    /// Show what the state file records, without calling any cloud.
    Status,
    /// Run the preflight checks alone (cluster version, permissions, storage
    /// class, Helm, database, DNS zone), changing nothing.
    Doctor,
    /// Print what liftoff derives from the spec, without touching anything:
    /// the platform chart's values (after checking the certificate).
    Render {
        /// Print the spec merged onto its profile instead.
        #[arg(long, conflicts_with_all = ["manifests", "out"])]
        resolved: bool,
        /// Also print the namespace and secrets liftoff creates (values redacted).
        #[arg(long)]
        manifests: bool,
        /// Write the values to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    init_tracing(cli.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(commands::run(&cli)) {
        Ok(()) => exit::OK,
        Err(e) => {
            match cli.output {
                Output::Text => eprintln!("{}", e.render()),
                Output::Json => println!("{}", report::error_json(&e)),
            }
            e.exit_code()
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "liftoff=info",
        _ => "liftoff=debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    // No colour codes into a file or pipe, nor when NO_COLOR is set.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
