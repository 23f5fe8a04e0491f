//! The wallet inside the node: the node lends the wallet ([`crate::wallet`]) its chain,
//! mempool view and store for each call ([`WalletCtx`]), submits the transactions the
//! wallet builds, and sends the wallet's notifications to every API connection. The wallet
//! never sees the node.

use crate::api::message::{RequestKind, ServerMessage};
use crate::crypto::Keypair;
use crate::node::{ConnId, Node, Output};
use crate::wallet::{Handled, Wallet, WalletCtx};

impl Node {
    /// Loads the wallet (every account sealed), creates the genesis account on a first start
    /// when configured, and resubmits the wallet's transactions the mempool lost.
    pub(super) fn start_wallet(
        &mut self,
        funded: Keypair,
        accounts: &[Keypair],
    ) -> Result<(), String> {
        self.wallet.load(self.store.as_mut(), &self.chain)?;
        let (created, notes) = self.with_wallet(|w, ctx| w.create_genesis_account(ctx, funded));
        created.map_err(|e| format!("genesis account: {e}"))?;
        self.broadcast(notes);
        let (created, notes) = self.with_wallet(|w, ctx| w.create_genesis_accounts(ctx, accounts));
        created.map_err(|e| format!("genesis accounts: {e}"))?;
        self.broadcast(notes);
        let resubmit = self
            .wallet
            .restart_pending(&self.chain, self.store.as_mut());
        for tx in resubmit {
            // A refusal becomes the transaction's status (rejected), which the wallet records.
            let _ = self.submit_transaction(self.now_ns, tx);
        }
        self.sync_store();
        Ok(())
    }

    /// Lends the wallet the node's state for one call; returns the call's result and the
    /// wallet's notifications.
    pub(super) fn with_wallet<R>(
        &mut self,
        f: impl FnOnce(&mut Wallet, &mut WalletCtx) -> R,
    ) -> (R, Vec<ServerMessage>) {
        let mut notify = Vec::new();
        let now_ns = self.now_ns.max(self.chain.tip_timestamp_ns());
        let mut ctx = WalletCtx {
            chain: &self.chain,
            claimed: self.mempool.claimed(),
            store: self.store.as_mut(),
            now_ns,
            network_key: self.cfg.network_key.as_ref(),
            notify: &mut notify,
        };
        let r = f(&mut self.wallet, &mut ctx);
        (r, notify)
    }

    /// A wallet hook: its notifications go out at once.
    pub(super) fn wallet_hook(&mut self, f: impl FnOnce(&mut Wallet, &mut WalletCtx)) {
        let ((), notes) = self.with_wallet(f);
        self.broadcast(notes);
    }

    /// Sends the wallet's notifications to every API connection.
    pub(super) fn broadcast(&mut self, notes: Vec<ServerMessage>) {
        self.outputs
            .extend(notes.into_iter().map(Output::Broadcast));
    }

    /// A wallet request from connection `conn`: answered (with `id`) by the wallet, after
    /// the node submitted the transaction it built, if any; then its notifications.
    pub(super) fn wallet_request(
        &mut self,
        conn: ConnId,
        id: u64,
        account_id: Option<String>,
        kind: RequestKind,
    ) {
        if let RequestKind::SecurePayment(p) = kind {
            self.secure_payment(conn, id, account_id, p);
            return;
        }
        let (handled, mut notes) =
            self.with_wallet(|w, ctx| w.handle_request(ctx, account_id.as_deref(), kind));
        let answer = match handled {
            Handled::Reply(answer) => answer,
            Handled::Submit(pending) => {
                let result = self.submit_transaction(self.now_ns, pending.transaction().clone());
                let (answer, more) =
                    self.with_wallet(|w, ctx| w.finish_submit(ctx, pending, result));
                notes.extend(more);
                answer
            }
        };
        let msg = match answer {
            Ok(mut m) => {
                m.id = id;
                m
            }
            Err(e) => {
                let mut m = ServerMessage::error(id, e.code, e.message);
                m.account_id = account_id;
                m
            }
        };
        self.outputs.push_back(Output::Reply { conn, msg });
        self.broadcast(notes);
    }
}
