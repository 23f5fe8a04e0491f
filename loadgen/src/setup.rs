//! Setup: prepares the pool of accounts the mix draws from, over one ordinary API
//! connection, before the load starts.
//!
//! In order, as configured ([`SetupConfig`]):
//! 1. named accounts (`account_ids`) are taken as they are;
//! 2. `existing`: every account of `accounts_info` is unsealed with the password (an account
//!    already unsealed is fine);
//! 3. `accounts = N`: N accounts are created (`create_account`; new accounts are unsealed);
//! 4. when the mix needs addresses (`{address}`, `{recipient}`), `account_info` of each;
//! 5. `fund_amount`: `fund_from` is unsealed (with `fund_password`; for the default account
//!    "1", the dev chain's genesis-funded account, with its password `dev`), then a `payment`
//!    from it to each pool account, then waiting until each account's `balance_info` shows the
//!    amount available.
//!
//! Every failure names the step and the node's answer.

use std::future::Future;
use std::time::Duration;

use crate::client::Client;
use stegosim_api::message::{ErrorCode, Payment, RequestKind, ServerKind, ServerMessage, Unseal};
use stegosim_api::token::ApiToken;

use crate::config::{SetupConfig, defaults};
use crate::mix::PoolAccount;

/// Why setup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setup: {0}")]
pub struct SetupError(pub String);

fn error_of(m: &ServerMessage) -> Option<(Option<ErrorCode>, String)> {
    match &m.kind {
        ServerKind::Error(e) => Some((e.code.clone(), e.error.clone())),
        _ => None,
    }
}

/// How setup talks to a node: one request at a time, and waiting. The real run implements
/// it over an API client and tokio's clock; the simulator over simulated connections in
/// virtual time (its futures complete at once).
pub trait Caller {
    /// Sends `kind` (for `account`, when a wallet request) and returns the node's answer;
    /// a failure to get one names `step`.
    fn call(
        &mut self,
        step: &str,
        kind: RequestKind,
        account: Option<&str>,
    ) -> impl Future<Output = Result<ServerMessage, SetupError>>;
    /// Waits `d` (for the chain to move on).
    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()>;
}

/// [`Caller`] over a real API client.
struct ClientCaller(Client);

impl Caller for ClientCaller {
    async fn call(
        &mut self,
        step: &str,
        kind: RequestKind,
        account: Option<&str>,
    ) -> Result<ServerMessage, SetupError> {
        self.0
            .call(kind, account)
            .await
            .map_err(|e| SetupError(format!("{step}: {e}")))
    }

    async fn sleep(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

async fn call<C: Caller>(
    c: &mut C,
    step: &str,
    kind: RequestKind,
    account: Option<&str>,
) -> Result<ServerMessage, SetupError> {
    c.call(step, kind, account).await
}

fn refused(step: &str, m: &ServerMessage) -> SetupError {
    match error_of(m) {
        Some((code, text)) => SetupError(format!(
            "{step}: the node answered {} ({text})",
            code.map_or_else(|| "an error".to_string(), |c| c.to_string())
        )),
        None => SetupError(format!("{step}: unexpected answer `{}`", m.type_name())),
    }
}

/// Prepares the pool. `need_addresses`: whether the mix uses `{address}` or `{recipient}`.
/// Messages about progress go to `say`.
pub async fn prepare(
    url: &str,
    token: &ApiToken,
    setup: &SetupConfig,
    need_addresses: bool,
    timeout: Duration,
    say: &mut dyn FnMut(String),
) -> Result<Vec<PoolAccount>, SetupError> {
    tokio::time::timeout(
        timeout,
        prepare_inner(url, token, setup, need_addresses, say),
    )
    .await
    .map_err(|_| SetupError(format!("did not finish within {timeout:?}")))?
}

async fn prepare_inner(
    url: &str,
    token: &ApiToken,
    setup: &SetupConfig,
    need_addresses: bool,
    say: &mut dyn FnMut(String),
) -> Result<Vec<PoolAccount>, SetupError> {
    let c = Client::connect(url, token)
        .await
        .map_err(|e| SetupError(format!("cannot connect to {url}: {e}")))?;
    prepare_with(&mut ClientCaller(c), setup, need_addresses, say).await
}

/// Prepares the pool through `c` (the steps of the module documentation).
/// `need_addresses`: whether the mix uses `{address}` or `{recipient}`.
pub async fn prepare_with<C: Caller>(
    c: &mut C,
    setup: &SetupConfig,
    need_addresses: bool,
    say: &mut dyn FnMut(String),
) -> Result<Vec<PoolAccount>, SetupError> {
    let c = &mut *c;
    let password = setup
        .password
        .clone()
        .unwrap_or_else(|| defaults::PASSWORD.to_string());
    let mut ids: Vec<String> = setup.account_ids.clone();

    if setup.existing {
        let m = call(c, "accounts_info", RequestKind::AccountsInfo, None).await?;
        let ServerKind::AccountsInfo(info) = &m.kind else {
            return Err(refused("accounts_info", &m));
        };
        for id in info.accounts.keys() {
            let step = format!("unseal account {id}");
            let m = call(
                c,
                &step,
                RequestKind::Unseal(Unseal {
                    password: password.clone(),
                }),
                Some(id),
            )
            .await?;
            match error_of(&m) {
                None | Some((Some(ErrorCode::AlreadyUnsealed), _)) => {}
                Some(_) => return Err(refused(&step, &m)),
            }
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        say(format!(
            "setup: {} existing accounts unsealed",
            info.accounts.len()
        ));
    }

    for i in 0..setup.accounts {
        let step = format!("create_account ({} of {})", i + 1, setup.accounts);
        let m = call(
            c,
            &step,
            RequestKind::CreateAccount(stegosim_api::message::CreateAccount {
                password: password.clone(),
            }),
            None,
        )
        .await?;
        match (&m.kind, &m.account_id) {
            (ServerKind::AccountCreated, Some(id)) => ids.push(id.clone()),
            _ => return Err(refused(&step, &m)),
        }
    }
    if setup.accounts > 0 {
        say(format!("setup: {} accounts created", setup.accounts));
    }

    let mut pool: Vec<PoolAccount> = ids
        .into_iter()
        .map(|id| PoolAccount { id, address: None })
        .collect();
    if need_addresses || setup.fund_amount > 0 {
        for a in &mut pool {
            let step = format!("account_info of account {}", a.id);
            let m = call(c, &step, RequestKind::AccountInfo, Some(&a.id)).await?;
            let ServerKind::AccountInfo(keys) = &m.kind else {
                return Err(refused(&step, &m));
            };
            a.address = Some(keys.account_pkey.clone());
        }
    }

    if setup.fund_amount > 0 {
        fund(c, setup, &pool, say).await?;
    }
    Ok(pool)
}

/// Pays `fund_amount` to each pool account and waits until each can spend it.
async fn fund<C: Caller>(
    c: &mut C,
    setup: &SetupConfig,
    pool: &[PoolAccount],
    say: &mut dyn FnMut(String),
) -> Result<(), SetupError> {
    let from = setup
        .fund_from
        .clone()
        .unwrap_or_else(|| defaults::FUND_FROM.to_string());
    // The dev chain's funded account starts sealed, with a known password.
    let password = setup.fund_password.clone().or_else(|| {
        setup
            .fund_from
            .is_none()
            .then(|| defaults::FUND_PASSWORD.to_string())
    });
    if let Some(pw) = &password {
        let step = format!("unseal the funding account {from}");
        let m = call(
            c,
            &step,
            RequestKind::Unseal(Unseal {
                password: pw.clone(),
            }),
            Some(&from),
        )
        .await?;
        match error_of(&m) {
            None | Some((Some(ErrorCode::AlreadyUnsealed), _)) => {}
            Some((Some(ErrorCode::InvalidPassword), _)) if setup.fund_password.is_none() => {
                return Err(SetupError(format!(
                    "{step}: the default password {:?} does not unseal it: pass --fund-password",
                    defaults::FUND_PASSWORD
                )));
            }
            Some(_) => return Err(refused(&step, &m)),
        }
    }
    let fee = setup.payment_fee.unwrap_or(defaults::PAYMENT_FEE);
    for a in pool {
        let address = a.address.clone().unwrap_or_default();
        let step = format!("fund account {} from account {from}", a.id);
        loop {
            let m = call(
                c,
                &step,
                RequestKind::Payment(Payment {
                    recipient: address.clone(),
                    amount: setup.fund_amount,
                    payment_fee: fee,
                    comment: String::new(),
                    locked_timestamp: None,
                    with_certificate: false,
                }),
                Some(&from),
            )
            .await?;
            match error_of(&m) {
                None => break,
                // Every output of the funding account is locked by payments in flight:
                // wait for their change to come back.
                Some((Some(ErrorCode::NotEnoughMoney), _)) => {
                    c.sleep(Duration::from_millis(500)).await;
                }
                Some(_) => return Err(refused(&step, &m)),
            }
        }
    }
    say(format!(
        "setup: {} µSTG paid to each of {} accounts; waiting until they can spend it",
        setup.fund_amount,
        pool.len()
    ));
    for a in pool {
        let step = format!("balance_info of account {}", a.id);
        loop {
            let m = call(c, &step, RequestKind::BalanceInfo, Some(&a.id)).await?;
            match &m.kind {
                ServerKind::BalanceInfo(b) if b.available >= setup.fund_amount => break,
                ServerKind::BalanceInfo(_) => {
                    c.sleep(Duration::from_millis(250)).await;
                }
                _ => return Err(refused(&step, &m)),
            }
        }
    }
    say("setup: accounts funded".to_string());
    Ok(())
}
