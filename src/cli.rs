//! The `crm` command: serve (default), migrate, user create.

use anyhow::Context;
use clap::Parser;

use crate::config::{Cli, Command, Config, UserCommand};
use crate::db::{Db, PoolSettings};
use crate::services::{auth, validate};
use crate::startup::{Application, stop_signal};
use crate::{seed, telemetry};

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.settings.resolve()?;
    telemetry::init(&config.log, config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = connect(&config).await?;
            db.migrate().await.context("database migration failed")?;
            db.close().await;
            println!("migrations applied to {}", config.database_url.redacted());
            Ok(())
        }
        Command::Seed(args) => {
            let db = connect(&config).await?;
            db.migrate().await.context("database migration failed")?;
            let result = seed::run(&db, &args).await;
            db.close().await;
            result
        }
        Command::Export { org } => {
            use futures_util::StreamExt;
            use std::io::Write;
            let state = crate::app::App::open(config).await?;
            let ctx = crate::services::orgs::OrgCtx::system(&state, org)
                .await
                .map_err(|e| anyhow::anyhow!("organization {org}: {}", e.detail))?;
            crate::services::export::start_organization(&state, &ctx)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut chunks = std::pin::pin!(crate::services::export::organization(state.clone(), ctx));
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| anyhow::anyhow!("export stopped: {}", e.detail))?;
                out.write_all(&chunk)?;
            }
            out.flush()?;
            state.db.close().await;
            Ok(())
        }
        Command::Backup { file } => {
            let db = connect(&config).await?;
            let result = db.backup_to(&file).await;
            db.close().await;
            result?;
            println!("backed up {} to {}", config.database_url.redacted(), file.display());
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    name,
                    password,
                    org_name,
                },
        } => {
            let email = validate::email(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
            let name = validate::required_text(&name, 200).map_err(|m| anyhow::anyhow!("--name: {m}"))?;
            let org_name = validate::required_text(&org_name, 200).map_err(|m| anyhow::anyhow!("--org-name: {m}"))?;
            validate::password(&password, &email).map_err(|m| anyhow::anyhow!("--password: {m}"))?;
            let db = connect(&config).await?;
            db.migrate().await.context("database migration failed")?;
            let hash = auth::password::hash_blocking(&password)?;
            let mut tx = db.begin().await?;
            let created = auth::accounts::create_account(tx.exec(), &email, &name, &hash, &org_name, None).await;
            let (user, org) = match created {
                Ok(pair) => pair,
                Err(e) if e.code == "email_taken" => {
                    anyhow::bail!("a user with the email {email} already exists")
                }
                Err(e) => anyhow::bail!("could not create the user: {}", e.detail),
            };
            tx.commit().await?;
            db.close().await;
            println!(
                "created user {} ({}) as owner of organization {} ({})",
                user.email, user.id, org.name, org.id
            );
            Ok(())
        }
    }
}

async fn connect(config: &Config) -> anyhow::Result<Db> {
    let settings = PoolSettings {
        max_connections: config.db_max_connections,
        ..PoolSettings::default()
    };
    Db::connect(config.database_url.expose(), &settings).await
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = config.database_url.redacted();
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), database = %database, "crm is serving on http://{}", app.local_addr());
    app.run_until(stop_signal()).await
}
