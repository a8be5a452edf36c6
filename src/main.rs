fn main() {
    std::process::exit(liftoff::cli::main());
}
