//! Every single-message JSON sample of `seeds/websocket-api.md`, cleaned (stray and missing
//! commas fixed, terminal junk such as `[31/9149]` removed, the line break inside the
//! escrow `network_pkey` joined, `"request"` written as `"type"`, the placeholder key
//! `"see the actual output in CLI"` dropped, blocks of several messages split), must parse
//! with the right parser into the right variant and serialise back to the same JSON value.
//! Also: aliases and decoding errors.

use serde_json::Value;
use stegosim_api::message::{
    BalanceChanged, ErrorCode, LogEntry, MessageErrorKind, Request, RequestKind, ServerKind,
    ServerMessage, SnowballState, Timestamp, TxStatus,
};

/// Which side sends a sample, so which parser reads it.
#[derive(Debug, Clone, Copy)]
enum Dir {
    /// Client to server: `Request`.
    Req,
    /// Server to client: `ServerMessage`.
    Srv,
}

use Dir::{Req, Srv};

/// One cleaned sample: where it is in the seed, who sends it, the canonical type it must
/// decode to, and its text.
struct Sample {
    name: &'static str,
    dir: Dir,
    type_name: &'static str,
    json: &'static str,
}

const fn s(name: &'static str, dir: Dir, type_name: &'static str, json: &'static str) -> Sample {
    Sample {
        name,
        dir,
        type_name,
        json,
    }
}

const SAMPLES: &[Sample] = &[
    s(
        "Payload",
        Srv,
        "balance_info",
        r#"{
  "id": 100500,
  "account_id": "1",
  "type": "balance_info",
  "payment": {"current": 1000000, "available": 1000000},
  "public_payment": {"current": 0, "available": 0},
  "stake": {"current": 0, "available": 0},
  "current": 1000000,
  "available": 1000000
}"#,
    ),
    s(
        "RPC sample request",
        Req,
        "balance_info",
        r#"{
   "id": 2,
   "type":"balance_info",
   "account_id": "1"
}"#,
    ),
    s(
        "RPC sample response",
        Srv,
        "balance_info",
        r#"{
  "id": 2,
  "account_id": "1",
  "type": "balance_info",
  "payment": {"current": 1000000, "available": 1000000},
  "public_payment": {"current": 0, "available": 0},
  "stake": {"current": 0, "available": 0},
  "current": 1000000,
  "available": 1000000,
  "is_final": false
}"#,
    ),
    s(
        "RPC error",
        Srv,
        "error",
        r#"{
  "type": "error",
  "error": "Not enough money."
}"#,
    ),
    s(
        "Notifications: balance_changed (bare)",
        Srv,
        "balance_changed",
        r#"{
  "type": "balance_changed",
  "account_id": "1",
  "balance": 999996010
}"#,
    ),
    s(
        "List Accounts request",
        Req,
        "accounts_info",
        r#"{
  "type": "accounts_info"
}"#,
    ),
    s(
        "List Accounts response",
        Srv,
        "accounts_info",
        r#"{
  "type": "accounts_info",
  "accounts": {
    "1": {
      "account_pkey": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw"
    }
  }
}"#,
    ),
    s(
        "Create Account request",
        Req,
        "create_account",
        r#"{
  "type": "create_account",
  "password": "plain-text-password"
}"#,
    ),
    s(
        "Create Account response",
        Srv,
        "account_created",
        r#"{
  "type": "account_created",
  "account_id": "1"
}"#,
    ),
    s(
        "Delete Account request",
        Req,
        "delete_account",
        r#"{
  "type": "delete_account",
  "account_id": "2"
}"#,
    ),
    s(
        "Delete Account response",
        Srv,
        "account_deleted",
        r#"{
  "type": "account_deleted",
  "account_id": "2"
}"#,
    ),
    s(
        "Get Recovery Phrase request",
        Req,
        "recovery_info",
        r#"{
  "type": "recovery_info",
  "account_id": "1"
}"#,
    ),
    s(
        "Get Recovery Phrase response",
        Srv,
        "recovery",
        r#"{
  "account_id": "1",
  "type": "recovery",
  "recovery": "swear praise ginger oxygen anchor ten small planet crime cave fold chuckle foot dragon decorate guess poverty grass crew depend define twice mother update"
}"#,
    ),
    s(
        "Recover Account request",
        Req,
        "recover_account",
        r#"{
  "type": "recover_account",
  "recovery": "swear praise ginger oxygen anchor ten small planet crime cave fold chuckle foot dragon decorate guess poverty grass crew depend define twice mother update"
}"#,
    ),
    s(
        "Recover Account response",
        Srv,
        "account_created",
        r#"{
  "type": "account_created",
  "account_id": "2"
}"#,
    ),
    s(
        "Unseal Account request",
        Req,
        "unseal",
        r#"{
  "type": "unseal",
  "account_id": "1",
  "password": "plain-text-password"
}"#,
    ),
    s(
        "Unseal Account response",
        Srv,
        "unsealed",
        r#"{
  "account_id": "1",
  "type": "unsealed"
}"#,
    ),
    s(
        "Seal Account request",
        Req,
        "seal",
        r#"{
  "type": "seal",
  "account_id": "1"
}"#,
    ),
    s(
        "Seal Account response",
        Srv,
        "sealed",
        r#"{
  "account_id": "1",
  "type": "sealed"
}"#,
    ),
    s(
        "Change Password request",
        Req,
        "change_password",
        r#"{
  "type": "change_password",
  "new_password": "plain-text-password"
}"#,
    ),
    s(
        "Change Password response",
        Srv,
        "password_changed",
        r#"{
  "account_id": "1",
  "type": "password_changed"
}"#,
    ),
    s(
        "Account Information request",
        Req,
        "account_info",
        r#"{
  "type": "account_info",
  "account_id": "1"
}"#,
    ),
    s(
        "Account Information response",
        Srv,
        "account_info",
        r#"{
  "account_id": "1",
  "type": "account_info",
  "account_pkey": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw"
}"#,
    ),
    s(
        "Balance Information request",
        Req,
        "balance_info",
        r#"{
  "type": "balance_info"
}"#,
    ),
    s(
        "Balance Information response",
        Srv,
        "balance_info",
        r#"{
  "account_id": "1",
  "type": "balance_info",
  "payment": {"current": 1000000, "available": 1000000},
  "public_payment": {"current": 0, "available": 0},
  "stake": {"current": 0, "available": 0},
  "current": 1000000,
  "available": 1000000,
  "is_final": false
}"#,
    ),
    s(
        "Balance Notifications",
        Srv,
        "balance_changed",
        r#"{
  "account_id": "1",
  "type": "balance_changed",
  "payment": {"current": 1000000, "available": 1000000},
  "public_payment": {"current": 0, "available": 0},
  "stake": {"current": 0, "available": 0},
  "current": 1000000,
  "available": 1000000,
  "is_final": false
}"#,
    ),
    s(
        "UTXO Information request",
        Req,
        "unspent_info",
        r#"{
  "type": "unspent_info"
}"#,
    ),
    s(
        "UTXO Information response",
        Srv,
        "unspent_info",
        r#"{
  "account_id": "1",
  "type": "unspent_info",
  "public_payments": [],
  "payments": [
    {
      "utxo": "13257da5cdef20d47dba473deb182f0d24c2a1ed717ba379c2b1830fdfadbd7e",
      "amount": 1000000000,
      "comment": "Gift from Stegos Leprechaun",
      "locked_timestamp": null,
      "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
      "is_change": false
    }
  ],
  "stakes": []
}"#,
    ),
    s(
        "Create Public Address request",
        Req,
        "create_public_address",
        r#"{
  "type": "create_public_address"
}"#,
    ),
    s(
        "Create Public Address response",
        Srv,
        "public_address_created",
        r#"{
  "account_id": "1",
  "type": "public_address_created",
  "public_address": "dev18c98gtemyps2x29n2sc73gp4qqnqdzqufq6cdjlku003u8w64cdqhe9pxe",
  "public_address_id": 1
}"#,
    ),
    s(
        "Public Addresses Information request",
        Req,
        "public_addresses_info",
        r#"{
  "type": "public_addresses_info"
}"#,
    ),
    s(
        "Public Addresses Information response",
        Srv,
        "public_addresses_info",
        r#"{
  "account_id": "1",
  "type": "public_addresses_info",
  "public_addresses": {
    "1": {
      "address": "dev18c98gtemyps2x29n2sc73gp4qqnqdzqufq6cdjlku003u8w64cdqhe9pxe"
    }
  }
}"#,
    ),
    s(
        "Payments request",
        Req,
        "payment",
        r#"{
  "type": "payment",
  "recipient": "7eiszB5iVFPCAWSmmkQ5ARyiLpvf1hifQrJ8FikJ1QJQ1k8WrQv",
  "amount": 100,
  "payment_fee": 1000,
  "comment": "Test",
  "locked_timestamp": "2019-08-22T12:35:06.343300856Z",
  "with_certificate": false
}"#,
    ),
    s(
        "Payments response",
        Srv,
        "transaction_created",
        r#"{
  "account_id": "1",
  "type": "transaction_created",
  "tx_hash": "b9132147148715da31d9ac95ec1efee9aec374deb356b3fedefc17322c3b63c2",
  "fee": 2000,
  "outputs": [
    {
      "output_type": "payment",
      "utxo": "32cbfd8cd697bef256b78a36847269a0d39c738da3cc474f3635c21b03de1310",
      "amount": 100,
      "comment": "Test",
      "locked_timestamp": "2019-08-22T12:35:06.343300856Z",
      "recipient": "7eiszB5iVFPCAWSmmkQ5ARyiLpvf1hifQrJ8FikJ1QJQ1k8WrQv",
      "rvalue": "0dbb132afbfdcc7bfb25191f89007f27919fceaceea03b015d98458cba1a4200",
      "is_change": false
    },
    {
      "output_type": "payment",
      "utxo": "fb7b7d39265ae69cc33fe5f327a78d0ea01a508ff99265f0a92ab5fc7df9e3c6",
      "amount": 999997900,
      "comment": "Change",
      "locked_timestamp": null,
      "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
      "is_change": true
    }
  ],
  "inputs": [
    "13257da5cdef20d47dba473deb182f0d24c2a1ed717ba379c2b1830fdfadbd7e"
  ],
  "status": "created"
}"#,
    ),
    s(
        "Payments notification: transaction_status committed",
        Srv,
        "transaction_status",
        r#"{
  "account_id": "1",
  "type": "transaction_status",
  "tx_hash": "049db1e1979f2c8d876df876011f12764fb8ef5c578203dcba35bb9a8f09cfa3",
  "status": "committed",
  "epoch": 1192
}"#,
    ),
    s(
        "Payments notification: snowball pool_wait",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "pool_wait"
}"#,
    ),
    s(
        "Payments notification: snowball shared_keying",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "shared_keying"
}"#,
    ),
    s(
        "Payments notification: snowball commitment",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "commitment"
}"#,
    ),
    s(
        "Payments notification: snowball cloaked_vals",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "cloaked_vals"
}"#,
    ),
    s(
        "Payments notification: snowball succeeded",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "succeeded"
}"#,
    ),
    s(
        "Cloak request",
        Req,
        "cloak_all",
        r#"{
  "type": "cloak_all",
  "payment_fee": 1000
}"#,
    ),
    s(
        "Stake request",
        Req,
        "stake",
        r#"{
  "type": "stake",
  "amount": 2000,
  "payment_fee": 1000
}"#,
    ),
    s(
        "Unstake request",
        Req,
        "unstake",
        r#"{
  "type": "unstake",
  "account_id": "1",
  "amount": 2000,
  "payment_fee": 1000
}"#,
    ),
    s(
        "Unstake all request",
        Req,
        "unstake_all",
        r#"{
  "type": "unstake_all",
  "account_id": "1"
}"#,
    ),
    s(
        "Restake request",
        Req,
        "restake_all",
        r#"{
  "type": "restake_all"
}"#,
    ),
    s(
        "Validate Certificate request",
        Req,
        "validate_certificate",
        r#"{
  "type": "validate_certificate",
  "utxo": "0fdb42aa9433bc6f7079426ebbe0d5464ca713b2aad2bb5ff4fe163f98a80674",
  "spender": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
  "recipient": "7eiszB5iVFPCAWSmmkQ5ARyiLpvf1hifQrJ8FikJ1QJQ1k8WrQv",
  "rvalue": "0dbb132afbfdcc7bfb25191f89007f27919fceaceea03b015d98458cba1a4200"
}"#,
    ),
    s(
        "Validate Certificate response",
        Srv,
        "certificate_valid",
        r#"{
  "type": "certificate_valid",
  "epoch": 1181,
  "block_hash": "5e8a4429338ac775b40472d0cee6a439cbf0542c966bca9a089f1a84bdb2e680",
  "is_final": true,
  "timestamp": "2019-08-21T13:05:53.045364692Z",
  "amount": 100
}"#,
    ),
    s(
        "Payment History request",
        Req,
        "history_info",
        r#"{
  "type": "history_info",
  "starting_from": "2019-08-20T13:48:40.877231494Z",
  "limit": 50
}"#,
    ),
    s(
        "Payment History response",
        Srv,
        "history_info",
        r#"{
  "account_id": "1",
  "type": "history_info",
  "log": [
    {
      "type": "outgoing",
      "timestamp": "2019-08-21T13:36:29.038362377Z",
      "tx_hash": "e2b3b05056dc216ed514422b4b08d2b7107947fdddbfb419faa87caa10400404",
      "fee": 6000,
      "outputs": [
        {
          "output_type": "payment",
          "utxo": "17a23f878dfecd0bdbd9bfd3524b829a95eb2d6a121f4f9d08160aa3b7da789a",
          "amount": 1,
          "comment": "",
          "locked_timestamp": null,
          "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
          "is_change": false
        },
        {
          "output_type": "payment",
          "utxo": "2ddb5b4b52ff2f54341c2f03e18e053843e964e86a4d48abb65f80c2ad09231d",
          "amount": 999986699,
          "comment": "Change",
          "locked_timestamp": null,
          "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
          "is_change": true
        }
      ],
      "inputs": [
        "5f8778d614aa6264269f62b5edb18f983e8da12b045b0cb314619456b930981e",
        "cc2a9b0268a36409a65166e4063abb88b4fe541e0c4a79eae4b66a3990a94868",
        "cef3b6ca7aa04383ee20c95b9c0071d751fa6b19e6ca75760e86380d402ed597",
        "ab55e0f121b3e3eff5c12f436abf3d1238171d86b3bd107f2ced160562dd1829",
        "0274559883bcf3668ec6751392633524854010267be6fcfc9a10c3c0d5cc4751",
        "d817af24a0344596c95f5c34d4afe4fe1fa2e184283267313ac878c1f912e90f"
      ],
      "status": "committed",
      "epoch": 1213
    },
    {
      "type": "incoming",
      "timestamp": "2019-08-21T13:36:30.798523887Z",
      "output_type": "payment",
      "utxo": "17a23f878dfecd0bdbd9bfd3524b829a95eb2d6a121f4f9d08160aa3b7da789a",
      "amount": 1,
      "comment": "",
      "locked_timestamp": null,
      "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
      "is_change": false
    },
    {
      "type": "incoming",
      "timestamp": "2019-08-21T13:36:30.799013899Z",
      "output_type": "payment",
      "utxo": "2ddb5b4b52ff2f54341c2f03e18e053843e964e86a4d48abb65f80c2ad09231d",
      "amount": 999986699,
      "comment": "Change",
      "locked_timestamp": null,
      "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
      "is_change": true
    }
  ]
}"#,
    ),
    s(
        "Status Information request",
        Req,
        "status_info",
        r#"{
  "type": "status_info"
}"#,
    ),
    s(
        "Status Information response",
        Srv,
        "status_info",
        r#"{
  "type": "status_info",
  "is_synchronized": false,
  "epoch": 16,
  "offset": 2,
  "view_change": 0,
  "last_block_hash": "2a4eae2807d771170c41ade13bc405ce95d54b5c1cc7e3a674ddfa17e427a70a",
  "last_macro_block_hash": "1e17d6048385f79eb2d8ba2b3ded80f76c9121d175575b0cd1d47d3aade18150",
  "last_macro_block_timestamp": "2019-09-25T14:17:56.647442627Z",
  "local_timestamp": "2019-09-25T14:23:26.304454862Z"
}"#,
    ),
    s(
        "Status Notification request",
        Req,
        "subscribe_status",
        r#"{
  "type": "subscribe_status"
}"#,
    ),
    s(
        "Status Notification response",
        Srv,
        "subscribed_status",
        r#"{
  "type": "subscribed_status",
  "is_synchronized": false,
  "epoch": 16,
  "offset": 2,
  "view_change": 0,
  "last_block_hash": "2a4eae2807d771170c41ade13bc405ce95d54b5c1cc7e3a674ddfa17e427a70a",
  "last_macro_block_hash": "1e17d6048385f79eb2d8ba2b3ded80f76c9121d175575b0cd1d47d3aade18150",
  "last_macro_block_timestamp": "2019-09-25T14:17:56.647442627Z",
  "local_timestamp": "2019-09-25T14:25:15.436308374Z"
}"#,
    ),
    s(
        "Status Notification notification",
        Srv,
        "status_changed",
        r#"{
  "type": "status_changed",
  "is_synchronized": false,
  "epoch": 16,
  "offset": 2,
  "view_change": 0,
  "last_block_hash": "2a4eae2807d771170c41ade13bc405ce95d54b5c1cc7e3a674ddfa17e427a70a",
  "last_macro_block_hash": "1e17d6048385f79eb2d8ba2b3ded80f76c9121d175575b0cd1d47d3aade18150",
  "last_macro_block_timestamp": "2019-09-25T14:17:56.647442627Z",
  "local_timestamp": "2019-09-25T14:26:31.882240890Z"
}"#,
    ),
    s(
        "Blockchain Information macro request",
        Req,
        "macro_block_info",
        r#"{
  "type": "macro_block_info",
  "epoch": 16
}"#,
    ),
    s(
        "Blockchain Information macro response",
        Srv,
        "macro_block_info",
        r#"{
  "type": "macro_block_info",
  "version": 1,
  "epoch": 16
}"#,
    ),
    s(
        "Blockchain Information micro request",
        Req,
        "micro_block_info",
        r#"{
  "type": "micro_block_info",
  "epoch": 16,
  "offset": 0
}"#,
    ),
    s(
        "Blockchain Information micro response",
        Srv,
        "micro_block_info",
        r#"{
  "type": "micro_block_info",
  "version": 1,
  "epoch": 16,
  "offset": 0
}"#,
    ),
    s(
        "Blockchain Notifications request",
        Req,
        "subscribe_chain",
        r#"{
  "type": "subscribe_chain",
  "epoch": 15,
  "offset": 59
}"#,
    ),
    s(
        "Blockchain Notifications response",
        Srv,
        "subscribed_chain",
        r#"{
  "type": "subscribed_chain",
  "current_epoch": 16,
  "current_offset": 2
}"#,
    ),
    s(
        "Blockchain Notifications macro_block_committed",
        Srv,
        "macro_block_committed",
        r#"{
  "type": "macro_block_committed",
  "version": 1,
  "epoch": 15,
  "view_change": 0
}"#,
    ),
    s(
        "Blockchain Notifications micro_block_prepared",
        Srv,
        "micro_block_prepared",
        r#"{
  "type": "micro_block_prepared",
  "version": 1,
  "epoch": 16,
  "offset": 0
}"#,
    ),
    s(
        "Blockchain Notifications micro_block_reverted",
        Srv,
        "micro_block_reverted",
        r#"{
  "type": "micro_block_reverted",
  "version": 1,
  "epoch": 16,
  "offset": 0
}"#,
    ),
    s(
        "Pop Micro Block request",
        Req,
        "pop_micro_block",
        r#"{
  "type": "pop_micro_block"
}"#,
    ),
    s(
        "Pop Micro Block response",
        Srv,
        "micro_block_popped",
        r#"{
  "type": "micro_block_popped"
}"#,
    ),
    s(
        "Escrow Information request",
        Req,
        "escrow_info",
        r#"{
  "type": "escrow_info"
}"#,
    ),
    s(
        "Escrow Information response",
        Srv,
        "escrow_info",
        r#"{
  "type": "escrow_info",
  "validators": [
    {
      "network_pkey": "c4dad2cd223433429ebd4bb25e25e447c6f1d97d9ac97336a02fe0321129224a6b30d69fe6f7c29e9af1e7328e033607a91e5d732673d4bbbbd38e666ddf86d99a9dc709513b5537d7e723349ecacdb1992c861dce8e49ac6fb329f703646985",
      "active_stake": 100000000000,
      "expired_stake": 0,
      "stakes": [
        {
          "utxo": "2cc4cd0ba92efe9ee3f55fe7253ba2d8d2bbc488c3275c293ae084e30d94a58a",
          "account_pkey": "7fLGYDXAwrD4miZaFwSQ5Ts6RRGmZheFAdhVNhu6wqGcXyJXLcn",
          "active_until_epoch": 1200,
          "is_active": true,
          "amount": 100000000000
        }
      ]
    }
  ]
}"#,
    ),
    s(
        "Election Information request",
        Req,
        "election_info",
        r#"{
  "type": "election_info"
}"#,
    ),
    s(
        "Election Information response",
        Srv,
        "election_info",
        r#"{
  "type": "election_info",
  "epoch": 1199,
  "offset": 40,
  "view_change": 0,
  "slots_count": 1000,
  "current_leader": "ba6419bc26c8505a83222815a2c0459a43a377f9331b481c522aaa2473b0b3cd48cba7fd953b51303c45e018b17a310efce926b8ac11be8904a0ac74150ee8c503b616925a6742031668b421054aba0469e6fa223131a57a5370ac630a5091b5"
}"#,
    ),
    s(
        "Enable Restaking request",
        Req,
        "enable_restaking",
        r#"{
  "type": "enable_restaking"
}"#,
    ),
    s(
        "Enable Restaking response",
        Srv,
        "restaking_enabled",
        r#"{
  "type": "restaking_enabled"
}"#,
    ),
    s(
        "Disable Restaking request",
        Req,
        "disable_restaking",
        r#"{
  "type": "disable_restaking"
}"#,
    ),
    s(
        "Disable Restaking response",
        Srv,
        "restaking_disabled",
        r#"{
  "type": "restaking_disabled"
}"#,
    ),
    s(
        "Transaction Tracking 1: secure_payment",
        Req,
        "secure_payment",
        r#"{
  "type": "secure_payment",
  "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
  "amount": 1,
  "payment_fee": 1000,
  "comment": "",
  "locked_timestamp": null,
  "with_certificate": false
}"#,
    ),
    s(
        "Transaction Tracking 2: transaction_created",
        Srv,
        "transaction_created",
        r#"{
  "account_id": "1",
  "type": "transaction_created",
  "tx_hash": "3de346b3c41f173b931f18bb9baf300afaa4724052c01efa008333f8a0e881d4",
  "fee": 2000,
  "outputs": [
    {
      "output_type": "payment",
      "utxo": "17c6556fbe25ccc7e7e8adb3e2000366cdef08e19d36478b5716c24778ecb3b2",
      "amount": 1,
      "comment": "",
      "locked_timestamp": null,
      "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
      "is_change": false
    },
    {
      "output_type": "payment",
      "utxo": "eb05b05c5dd4c6f972b85f5848ccaa75fc7d49cb3b10009f6559e0274e92dd16",
      "amount": 999982699,
      "comment": "Change",
      "locked_timestamp": null,
      "recipient": "7eAYuCBLQJNomPM7dHEmAp3Ku7H3wv76MdqpRBiuYdJseNwqcfw",
      "is_change": true
    }
  ],
  "inputs": [
    "299512da5957b689b0862ef080cc64e54593ab6d1db74b426608a60ce7f1df2f",
    "ae485d68ef6dbc4b17a6ad61befbb8ce072e10341eb2f827246bd321cf8b4b07"
  ],
  "status": "created"
}"#,
    ),
    s(
        "Transaction Tracking 2: snowball pool_wait",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "pool_wait"
}"#,
    ),
    s(
        "Transaction Tracking 2: snowball commitment",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "commitment"
}"#,
    ),
    s(
        "Transaction Tracking 2: snowball cloaked_vals",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "cloaked_vals"
}"#,
    ),
    s(
        "Transaction Tracking 2: snowball signature",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "signature"
}"#,
    ),
    s(
        "Transaction Tracking 2: snowball succeeded",
        Srv,
        "snowball_status",
        r#"{
  "account_id": "1",
  "type": "snowball_status",
  "state": "succeeded"
}"#,
    ),
    s(
        "Transaction Tracking 3: accepted",
        Srv,
        "transaction_status",
        r#"{
  "account_id": "1",
  "type": "transaction_status",
  "tx_hash": "3de346b3c41f173b931f18bb9baf300afaa4724052c01efa008333f8a0e881d4",
  "status": "accepted"
}"#,
    ),
    s(
        "Transaction Tracking 4: prepared",
        Srv,
        "transaction_status",
        r#"{
  "account_id": "1",
  "type": "transaction_status",
  "tx_hash": "3de346b3c41f173b931f18bb9baf300afaa4724052c01efa008333f8a0e881d4",
  "status": "prepared",
  "epoch": 1230,
  "offset": 56
}"#,
    ),
    s(
        "Transaction Tracking 5: committed",
        Srv,
        "transaction_status",
        r#"{
  "account_id": "1",
  "type": "transaction_status",
  "tx_hash": "3de346b3c41f173b931f18bb9baf300afaa4724052c01efa008333f8a0e881d4",
  "status": "committed",
  "epoch": 1230
}"#,
    ),
];

/// Decodes `sample` with its side's parser and returns (type name, re-encoded JSON).
fn decode_and_reencode(sample: &Sample) -> Result<(&'static str, Vec<u8>), String> {
    let mut out = Vec::new();
    match sample.dir {
        Req => {
            let request = Request::from_json(sample.json.as_bytes()).map_err(|e| e.to_string())?;
            request.to_json(&mut out);
            Ok((request.type_name(), out))
        }
        Srv => {
            let message =
                ServerMessage::from_json(sample.json.as_bytes()).map_err(|e| e.to_string())?;
            message.to_json(&mut out);
            Ok((message.type_name(), out))
        }
    }
}

#[test]
fn every_seed_sample_round_trips_to_the_same_json_value() {
    let mut failures = Vec::new();
    for sample in SAMPLES {
        let expected: Value = match serde_json::from_str(sample.json) {
            Ok(value) => value,
            Err(e) => {
                failures.push(format!("{}: sample is not JSON: {e}", sample.name));
                continue;
            }
        };
        match decode_and_reencode(sample) {
            Err(e) => failures.push(format!("{}: does not decode: {e}", sample.name)),
            Ok((type_name, _)) if type_name != sample.type_name => failures.push(format!(
                "{}: decoded as {type_name}, expected {}",
                sample.name, sample.type_name
            )),
            Ok((_, out)) => {
                let out_text = String::from_utf8_lossy(&out).into_owned();
                match serde_json::from_slice::<Value>(&out) {
                    Ok(actual) if actual == expected => {
                        if !out_text.starts_with("{\"type\":") {
                            failures.push(format!("{}: type not first: {out_text}", sample.name));
                        }
                    }
                    Ok(actual) => failures.push(format!(
                        "{}: re-encoded differently:\n  expected {expected}\n  actual   {actual}",
                        sample.name
                    )),
                    Err(e) => failures.push(format!(
                        "{}: re-encoded text is not JSON ({e}): {out_text}",
                        sample.name
                    )),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} seed samples failed:\n{}",
        failures.len(),
        SAMPLES.len(),
        failures.join("\n")
    );
}

#[test]
fn every_type_name_has_a_seed_sample_or_is_known_to_lack_one() {
    // The seed shows no sample of these; everything else must have one above.
    let unsampled_requests = ["public_payment", "chain_name"];
    let unsampled_server = [
        "chain_name",
        "received",
        "spent",
        "received_public",
        "spent_public",
        "staked",
        "unstaked",
        "lagged",
    ];
    for name in RequestKind::TYPE_NAMES {
        let sampled = SAMPLES
            .iter()
            .any(|s| matches!(s.dir, Req) && s.type_name == *name);
        assert!(
            sampled || unsampled_requests.contains(name),
            "request {name} has no sample"
        );
    }
    for name in ServerKind::TYPE_NAMES {
        let sampled = SAMPLES
            .iter()
            .any(|s| matches!(s.dir, Srv) && s.type_name == *name);
        assert!(
            sampled || unsampled_server.contains(name),
            "server message {name} has no sample"
        );
    }
}

fn sample(name: &str) -> &'static Sample {
    SAMPLES
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sample named {name}"))
}

fn server(name: &str) -> ServerMessage {
    ServerMessage::from_json(sample(name).json.as_bytes()).expect(name)
}

fn request(name: &str) -> Request {
    Request::from_json(sample(name).json.as_bytes()).expect(name)
}

#[test]
fn samples_decode_to_the_expected_values() {
    let m = server("RPC sample response");
    assert_eq!(m.id, 2);
    assert_eq!(m.account_id.as_deref(), Some("1"));
    let ServerKind::BalanceInfo(b) = &m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(
        (b.current, b.payment.available, b.is_final),
        (1_000_000, 1_000_000, Some(false))
    );

    let r = request("RPC sample request");
    assert_eq!((r.id, r.account_id.as_deref()), (2, Some("1")));
    assert_eq!(r.kind, RequestKind::BalanceInfo);

    let m = server("Notifications: balance_changed (bare)");
    assert_eq!(
        m.kind,
        ServerKind::BalanceChanged(BalanceChanged::Total(999_996_010))
    );
    let m = server("Balance Notifications");
    assert!(matches!(
        m.kind,
        ServerKind::BalanceChanged(BalanceChanged::Full(_))
    ));

    let m = server("RPC error");
    let ServerKind::Error(e) = &m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(
        (e.error.as_str(), e.code.as_ref()),
        ("Not enough money.", None)
    );

    let m = server("Payment History response");
    let ServerKind::HistoryInfo(h) = &m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(h.log.len(), 3);
    let LogEntry::Outgoing(out) = &h.log[0] else {
        panic!("{:?}", h.log[0])
    };
    assert_eq!(
        (out.status, out.epoch, out.inputs.len()),
        (TxStatus::Committed, Some(1213), 6)
    );
    assert!(matches!(&h.log[1], LogEntry::Incoming(i) if i.output.amount == 1));

    let r = request("Payments request");
    let RequestKind::Payment(p) = &r.kind else {
        panic!("{r:?}")
    };
    assert_eq!(
        p.locked_timestamp,
        Some(Timestamp::parse_rfc3339("2019-08-22T12:35:06.343300856Z").unwrap())
    );

    let m = server("Transaction Tracking 2: snowball signature");
    assert!(
        matches!(&m.kind, ServerKind::SnowballStatus(s) if s.state == SnowballState::Signature)
    );

    let m = server("Escrow Information response");
    let ServerKind::EscrowInfo(e) = &m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(e.validators[0].network_pkey.len(), 192);
    assert_eq!(e.validators[0].stakes[0].active_until_epoch, 1200);
}

#[test]
fn aliases_are_accepted_and_written_canonically() {
    let r = Request::from_json(br#"{"type":"list_accounts","id":7}"#).unwrap();
    assert_eq!((r.id, &r.kind), (7, &RequestKind::AccountsInfo));
    let r = Request::from_json(br#"{"type":"get_recovery","account_id":"3"}"#).unwrap();
    assert_eq!(r.kind, RequestKind::RecoveryInfo);
    let mut out = Vec::new();
    r.to_json(&mut out);
    assert_eq!(out, br#"{"type":"recovery_info","account_id":"3"}"#);

    let r = Request::from_json(
        br#"{"type":"validate_certificate","output_hash":"ab","spender":"s","recipient":"r","rvalue":"v"}"#,
    )
    .unwrap();
    let RequestKind::ValidateCertificate(v) = &r.kind else {
        panic!("{r:?}")
    };
    assert_eq!(v.utxo, "ab");
    out.clear();
    r.to_json(&mut out);
    let value: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(value["utxo"], "ab");
    assert!(value.get("output_hash").is_none());
}

#[test]
fn envelope_keys_may_come_anywhere() {
    // id and account_id after type, and a body key before type (the buffered slow path).
    let json = br#"{"password":"pw","type":"unseal","id":9,"account_id":"4"}"#;
    let r = Request::from_json(json).unwrap();
    assert_eq!(r.id, 9);
    assert_eq!(r.account_id.as_deref(), Some("4"));
    assert_eq!(
        r.kind,
        RequestKind::Unseal(stegosim_api::message::Unseal {
            password: "pw".into()
        })
    );
    // Escaped keys are still recognised.
    let r =
        Request::from_json(br#"{"\u0074ype":"unseal","pass\u0077ord":"pw","\u0069d":3}"#).unwrap();
    assert_eq!(r.id, 3);
}

#[test]
fn errors_name_the_problem_and_carry_the_id() {
    let e = Request::from_json(br#"{"id":5,"type":"fly_to_the_moon"}"#).unwrap_err();
    assert_eq!(e.id(), 5);
    assert_eq!(e.code(), ErrorCode::UnknownType);
    assert_eq!(
        e.kind(),
        &MessageErrorKind::UnknownType {
            name: "fly_to_the_moon".into()
        }
    );
    assert!(e.to_string().contains("fly_to_the_moon"), "{e}");

    // The id comes after the point of failure: it is still found.
    let e = Request::from_json(br#"{"type":"create_account","id":6}"#).unwrap_err();
    assert_eq!(e.id(), 6);
    assert_eq!(e.code(), ErrorCode::MissingField);
    assert_eq!(
        e.kind(),
        &MessageErrorKind::MissingField {
            type_name: Some("create_account"),
            field: "password".into()
        }
    );
    assert!(
        e.to_string().contains("create_account") && e.to_string().contains("password"),
        "{e}"
    );

    let e = Request::from_json(br#"{"type":"stake","amount":"lots","payment_fee":1,"id":8}"#)
        .unwrap_err();
    assert_eq!((e.id(), e.code()), (8, ErrorCode::InvalidField));
    let MessageErrorKind::InvalidField {
        type_name,
        field,
        reason,
    } = e.kind()
    else {
        panic!("{e:?}")
    };
    assert_eq!((*type_name, field.as_str()), (Some("stake"), "amount"));
    assert!(reason.contains("expected i64"), "{reason}");

    let e = Request::from_json(br#"{"id":1,"account_id":"1"}"#).unwrap_err();
    assert_eq!((e.id(), e.code()), (1, ErrorCode::MissingType));

    let e = Request::from_json(br#"{"id":"x","type":"seal"}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidField);
    assert!(matches!(e.kind(), MessageErrorKind::InvalidField { field, .. } if field == "id"));

    let e = Request::from_json(br#"{"type":7}"#).unwrap_err();
    assert!(matches!(e.kind(), MessageErrorKind::InvalidField { field, .. } if field == "type"));

    let e = Request::from_json(br#"{"type":"seal","type":"seal"}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidField);

    for not_object in [&b"[1,2]"[..], b"42", b"\"seal\"", b"null"] {
        let e = Request::from_json(not_object).unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::NotAnObject,
            "{}",
            String::from_utf8_lossy(not_object)
        );
    }
    for garbage in [
        &b""[..],
        b"\xff\xfe{",
        b"{\"type\":",
        b"{\"type\":\"seal\"} x",
        b"[1,",
    ] {
        let e = Request::from_json(garbage).unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::BadJson,
            "{}",
            String::from_utf8_lossy(garbage)
        );
        assert_eq!(e.id(), 0);
    }

    // The reply a server sends for it.
    let e = ServerMessage::from_json(br#"{"id":3,"type":"balance_info"}"#).unwrap_err();
    let reply = e.reply();
    assert_eq!(reply.id, 3);
    let ServerKind::Error(body) = &reply.kind else {
        panic!("{reply:?}")
    };
    assert_eq!(body.code, Some(ErrorCode::MissingField));
}

#[test]
fn huge_names_are_clipped_in_errors() {
    let name = "x".repeat(100_000);
    let json = format!(r#"{{"type":"{name}"}}"#);
    let e = Request::from_json(json.as_bytes()).unwrap_err();
    assert!(e.to_string().len() < 400, "{}", e.to_string().len());
}
