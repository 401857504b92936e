use clap::Parser;

fn main() {
    let args = kube_exec_devserver::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kube-exec-devserver: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(kube_exec_devserver::run(args)) {
        eprintln!("kube-exec-devserver: {e}");
        std::process::exit(1);
    }
}
