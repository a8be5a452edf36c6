//! The command line: argument parsing (clap derive) and one function per
//! command.

/// `print!` to standard output, ending quietly on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(&format!($($arg)*))
    };
}

/// `println!` to standard output, ending quietly on a closed pipe.
macro_rules! outln {
    () => {
        $crate::cli::stdout::write("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(&format!("{}\n", format!($($arg)*)))
    };
}

mod bundle;
mod caller;
mod commands;
mod init;
mod interrupt;
pub mod progress;
mod report;
mod session;
mod state_cmd;
pub mod stdout;
mod upgrade;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::exit;

/// The exit codes, shown by `--help` (and in the README).
const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    unexpected failure (I/O, corrupt state)
  2    bad command line
  3    invalid input: spec, profile, saved plan file, missing confirmation
  4    apply finished with failed changes, or destroy left something tagged
  5    saved plan is stale
  6    another run holds the state lock
  7    a cloud or cluster could not be read before any change (no credentials, unreachable);
       --bundle: the private registry lacks an image
  8    doctor: a preflight check failed
  9    a bundle was refused (a checksum, the signature, an unsafe entry)
  10   upgrade/rollback refused before changing anything (a skipped minor version, Kubernetes out of range)
  11   upgrade failed: the release was rolled back (the error says where the database snapshot is)
  130  interrupted (Ctrl-C): re-run to continue
  141  standard output was closed (`| head`)";

/// The built-in profiles with what each is for, for `init --help`.
fn profiles_help() -> String {
    let names = crate::spec::profiles::names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut text = String::from("Built-in profiles:\n");
    for name in names {
        let summary = crate::spec::profiles::summary(name).unwrap_or_default();
        text.push_str(&format!("  {name:<width$}  {summary}\n"));
    }
    text
}

/// The command line's definition, with what is only known at run time
/// (the built-in profiles) added to the help.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().mut_subcommand("init", |init| init.after_help(profiles_help()))
}

#[derive(Debug, Parser)]
#[command(
    name = "liftoff",
    version,
    about = "Installs the Astronomer platform from one declarative spec",
    after_help = EXIT_CODES
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
    /// Where the state lives: `s3://BUCKET/PREFIX`, `gs://BUCKET/PREFIX` or
    /// a folder (overrides the spec's `state:` and --state-dir).
    #[arg(
        long = "state",
        global = true,
        env = "LIFTOFF_STATE",
        value_name = "URL"
    )]
    pub state: Option<String>,
    /// More logging (-v, -vv); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// `--phase`, on the commands that plan (plan, install, destroy).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PhaseArg {
    /// Work on one part only: `cloud` (network, database, cluster) or
    /// `cluster` (namespace, secrets, Helm release, DNS).
    #[arg(long, value_enum, default_value_t = crate::compose::Phase::All)]
    pub phase: crate::compose::Phase,
}

impl Cli {
    /// The part of the installation the command works on.
    pub fn phase(&self) -> crate::compose::Phase {
        match &self.command {
            Command::Plan { phase, .. }
            | Command::Install { phase, .. }
            | Command::Destroy { phase, .. } => phase.phase,
            _ => crate::compose::Phase::All,
        }
    }
}

/// `install --bundle` and `upgrade --bundle`: offline, from a bundle.
#[derive(Debug, Clone, clap::Args)]
pub struct BundleArgs {
    /// Take the chart and helm from this bundle (`liftoff bundle create`);
    /// images come from the spec's private registry (`bundle push`).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The bundle signer's ed25519 public key (PEM).
    #[arg(long, requires = "bundle")]
    pub public_key: Option<PathBuf>,
    /// Speak plain HTTP to the private registry when checking its images.
    #[arg(long, requires = "bundle")]
    pub registry_plain_http: bool,
    /// A CA certificate (PEM) for the private registry.
    #[arg(long, requires = "bundle")]
    pub registry_ca_file: Option<PathBuf>,
}

impl BundleArgs {
    pub(crate) fn install(&self) -> Option<bundle::InstallBundle<'_>> {
        Some(bundle::InstallBundle {
            bundle: self.bundle.as_deref()?,
            public_key: self.public_key.as_deref(),
            registry_plain_http: self.registry_plain_http,
            registry_ca_file: self.registry_ca_file.as_deref(),
        })
    }
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
        /// The built-in profile to start from (listed below).
        #[arg(long)]
        profile: String,
        /// A throwaway trial: a self-signed certificate instead of yours
        /// (validate refuses that for anything but a trial). Never for
        /// real use: browsers and clients will not trust it.
        #[arg(long)]
        trial: bool,
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
        #[command(flatten)]
        phase: PhaseArg,
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
        /// Apply without asking. Without a saved plan, install shows the
        /// plan and asks on a terminal; without one it refuses unless --yes.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        phase: PhaseArg,
        #[command(flatten)]
        bundle: BundleArgs,
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
        #[command(flatten)]
        phase: PhaseArg,
    },
    /// Upgrade the platform's chart: one minor version at a time, the
    /// database snapshotted first, rolled back automatically on failure.
    Upgrade {
        /// The chart version to upgrade to (default: platform.chart.version).
        #[arg(long)]
        to: Option<String>,
        /// Take every minor version between the installed one and the
        /// target, one hop after another (refused without it).
        #[arg(long)]
        through: bool,
        /// Show the hops, the values diff and the manifest diff; change nothing.
        #[arg(long)]
        plan: bool,
        /// Do not snapshot the database first (you backed it up yourself).
        #[arg(long)]
        skip_snapshot: bool,
        /// Upgrade the cluster's Kubernetes to this version (1.N, as
        /// cluster.kubernetesVersion says) instead of the platform: the
        /// control plane one minor at a time, then the node groups (EKS, GKE).
        #[arg(long, value_name = "VERSION", conflicts_with_all = ["to", "through", "skip_snapshot", "bundle"])]
        kubernetes: Option<String>,
        /// Upgrade without asking.
        #[arg(long)]
        yes: bool,
        // Air-gapped: the bundle's chart is the target (one hop per
        // bundle), its images checked in the private registry first.
        #[command(flatten)]
        bundle: BundleArgs,
    },
    /// Roll the platform's Helm release back to an earlier revision.
    Rollback {
        /// The revision to go back to (default: the deployed one before the current).
        #[arg(long)]
        revision: Option<u64>,
        /// Roll back without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Show what the state file records, without calling any cloud: the
    /// resources, the release's chart version and revision, the last
    /// operation (and the release's revisions from Helm on an existing
    /// cluster, or with --history).
    Status {
        /// Also read the release's revision history from the cluster
        /// (connecting to a cluster liftoff created asks its cloud).
        #[arg(long)]
        history: bool,
    },
    /// Work with the stored state itself: show, pull, push, migrate, unlock.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Run the preflight checks alone (cluster version, permissions, storage
    /// class, Helm, database, DNS zone), changing nothing. Exits 8 when a
    /// check failed.
    Doctor,
    /// Air-gapped bundles: create, inspect, verify, push (docs/bundle.md).
    Bundle {
        #[command(subcommand)]
        command: bundle::BundleCommand,
    },
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

/// `liftoff state …` (docs/state.md).
#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Where the state is, who holds its lock, and what it records.
    Show,
    /// Print the stored state document (or write it to --out).
    Pull {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replace the stored state with a file's, under the lock. Refused for
    /// another installation's file, or one older than the stored state
    /// (lower serial) unless --force.
    Push {
        /// The state document to store (as `state pull` writes it).
        #[arg(value_name = "FILE")]
        document: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Move the state and liftoff's secret files to another place
    /// (`s3://…`, `gs://…`, a folder), verified by digest; refused when the
    /// target holds a different state of this installation.
    Migrate {
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Remove a bucket lock whose lease ran out (a killed run's); --force
    /// removes one that is still leased (only when no run is working).
    Unlock {
        #[arg(long)]
        force: bool,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    stdout::quiet_on_closed_pipes();
    use clap::FromArgMatches;
    let parsed = command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
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
    let result = runtime.block_on(async {
        let interrupt = interrupt::catch();
        tokio::select! {
            r = commands::run(&cli) => r,
            e = interrupt.wait() => Err(e),
        }
    });
    let code = match result {
        Ok(()) => exit::OK,
        Err(e) => {
            match cli.output {
                Output::Text => eprintln!("{}", e.render()),
                // The error is the command's one document, unless the
                // command already printed its own (validate, doctor).
                Output::Json if stdout::document_written() => {
                    eprintln!("{}", report::error_json(&e))
                }
                Output::Json => outln!("{}", report::error_json(&e)),
            }
            e.exit_code()
        }
    };
    // A blocking read (a prompt) interrupted by Ctrl-C must not hold up
    // the exit.
    runtime.shutdown_background();
    bundle::cleanup();
    code
}

/// Logs to stderr. Without `-v` only liftoff's own warnings show: the AWS
/// SDK's log lines (credential chain retries and the like) are for `-v`
/// and up. `RUST_LOG` overrides. No colour codes unless stderr is a
/// terminal and `NO_COLOR` is unset.
fn init_tracing(verbose: u8) {
    use std::io::IsTerminal;
    let default = match verbose {
        0 => "liftoff=warn",
        1 => "warn,liftoff=info",
        _ => "info,liftoff=debug",
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
        .with_ansi(colour_on(std::io::stderr().is_terminal()))
        .with_target(false)
        .try_init();
}

/// Whether to print colour codes on a stream: only to a terminal, and never
/// when `NO_COLOR` is set (to anything but the empty string).
pub fn colour_on(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
