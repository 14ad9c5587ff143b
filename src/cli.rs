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
        Command::Import {
            object,
            file,
            org,
            mapping,
            on_conflict,
            dry_run,
        } => {
            let state = crate::app::App::open(config).await?;
            let result = import(&state, org, object, file, mapping, on_conflict, dry_run).await;
            state.db.close().await;
            result
        }
        Command::ImportOrg { file } => {
            let db = connect(&config).await?;
            db.migrate().await.context("database migration failed")?;
            let result = import_org(&db, &file).await;
            db.close().await;
            result
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
            command: UserCommand::SetPassword { email, password },
        } => {
            let email = validate::email(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
            validate::password(&password, &email).map_err(|m| anyhow::anyhow!("--password: {m}"))?;
            let db = connect(&config).await?;
            db.migrate().await.context("database migration failed")?;
            let hash = auth::password::hash_blocking(&password)?;
            let mut tx = db.begin().await?;
            let Some(user) = auth::queries::find_user_by_email(tx.exec(), &email).await? else {
                anyhow::bail!("no user has the email {email}");
            };
            auth::queries::set_password(tx.exec(), user.id, &hash, None).await?;
            tx.commit().await?;
            db.close().await;
            println!("password set for {} ({})", user.email, user.id);
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

/// `crm import`: the file checked and stored as the API would, then
/// applied here with a progress bar; the summary as `GET /imports/{id}`.
async fn import(
    state: &crate::app::App,
    org: uuid::Uuid,
    object: String,
    file: std::path::PathBuf,
    mapping: Option<std::path::PathBuf>,
    on_conflict: String,
    dry_run: bool,
) -> anyhow::Result<()> {
    use crate::services::imports::{self, Started, Upload, file::Spooled};
    let owner = crate::services::orgs::queries::first_owner(state.db.read().await?.exec(), org)
        .await?
        .ok_or_else(|| anyhow::anyhow!("organization {org}: not found, or it has no owner"))?;
    let ctx = crate::services::orgs::OrgCtx::of_member(state, org, owner, None)
        .await
        .map_err(|e| anyhow::anyhow!("organization {org}: {}", e.detail))?;
    let opened = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = opened.metadata()?.len();
    let mapping = match mapping {
        None => None,
        Some(path) => Some(std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?),
    };
    let upload = Upload {
        file: Some(Spooled {
            file: opened,
            size,
            name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        }),
        object: Some(object),
        mapping,
        on_conflict: Some(on_conflict),
        dry_run: Some(dry_run.to_string()),
    };
    let refused = |e: crate::error::AppError| {
        let fields: Vec<String> = e.errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
        anyhow::anyhow!("{} {}", e.detail, fields.join("; "))
    };
    let import = match imports::start_here(state, &ctx, upload).await.map_err(refused)? {
        Started::DryRun(dry) => {
            println!("{}", serde_json::to_string_pretty(&dry)?);
            return Ok(());
        }
        Started::Queued(import) => import,
    };
    let bar = indicatif::ProgressBar::new(import.total_rows.max(0) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let done = imports::run_here(state, &ctx, import.id, &mut |rows| bar.set_position(rows.max(0) as u64)).await?;
    bar.finish();
    println!(
        "import {}: {}; {} rows: {} created, {} merged, {} unchanged, {} skipped, {} conflicts, {} companies created",
        done.id,
        done.status,
        done.total_rows,
        done.created,
        done.merged,
        done.unchanged,
        done.skipped,
        done.conflicts,
        done.companies_created
    );
    for error in done.errors.0.iter().take(20) {
        println!(
            "  line {}: {}{}",
            error.line,
            error.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(),
            error.message
        );
    }
    if done.errors.0.len() > 20 {
        println!(
            "  … and {} more row errors (GET /api/v1/imports/{})",
            done.errors.0.len() - 20,
            done.id
        );
    }
    if let Some(failure) = &done.failure {
        anyhow::bail!("the import failed: {failure}");
    }
    Ok(())
}

/// `crm import-org`: the export restored in one transaction, then what it
/// holds.
async fn import_org(db: &Db, file: &std::path::Path) -> anyhow::Result<()> {
    let opened = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot open {}", file.display()))?;
    let restored = crate::services::restore::organization(db, tokio::io::BufReader::new(opened))
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e:#}; nothing was written", file.display()))?;
    let counts: Vec<String> = restored.counts.iter().map(|(kind, n)| format!("{kind}: {n}")).collect();
    println!(
        "restored organization {} ({}): {}",
        restored.organization.name,
        restored.organization.id,
        counts.join(", ")
    );
    println!("members sign in once their password is set: crm user set-password --email …");
    Ok(())
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
