//! Property tests: every message shape round-trips through `to_json` / `from_json`, and no
//! input, however broken, makes the decoders panic.

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::{BoxedStrategy, Union};
use serde_json::Value;

use super::*;

/// Any text, including control characters and non-ASCII (exercises JSON escaping).
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[0-9a-f]{0,16}",
        1 => any::<String>(),
    ]
    .boxed()
}

fn ts() -> impl Strategy<Value = Timestamp> {
    any::<u64>().prop_map(Timestamp::from_unix_nanos)
}

fn small_vec<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    vec(s, 0..4)
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        3 => select(ErrorCode::ALL.to_vec()),
        1 => "[a-z_]{1,16}".prop_filter_map("known code names parse as known codes", |name| {
            match ErrorCode::from_name(&name) {
                ErrorCode::Other(name) => Some(ErrorCode::Other(name)),
                _ => None,
            }
        }),
    ]
}

fn payment() -> impl Strategy<Value = Payment> {
    (
        text(),
        any::<i64>(),
        any::<i64>(),
        text(),
        option::of(ts()),
        any::<bool>(),
    )
        .prop_map(
            |(recipient, amount, payment_fee, comment, locked_timestamp, with_certificate)| {
                Payment {
                    recipient,
                    amount,
                    payment_fee,
                    comment,
                    locked_timestamp,
                    with_certificate,
                }
            },
        )
}

fn request_kind() -> impl Strategy<Value = RequestKind> {
    use RequestKind as K;
    let units = select(vec![
        K::AccountsInfo,
        K::DeleteAccount,
        K::Seal,
        K::AccountInfo,
        K::BalanceInfo,
        K::UnspentInfo,
        K::RecoveryInfo,
        K::CreatePublicAddress,
        K::PublicAddressesInfo,
        K::RestakeAll,
        K::StatusInfo,
        K::SubscribeStatus,
        K::PopMicroBlock,
        K::EscrowInfo,
        K::ElectionInfo,
        K::EnableRestaking,
        K::DisableRestaking,
        K::ChainName,
    ]);
    let position =
        || (any::<u64>(), any::<u32>()).prop_map(|(epoch, offset)| ChainPosition { epoch, offset });
    let stake = || {
        (any::<i64>(), any::<i64>()).prop_map(|(amount, payment_fee)| StakeAmount {
            amount,
            payment_fee,
        })
    };
    Union::new(vec![
        units.boxed(),
        text()
            .prop_map(|password| K::CreateAccount(CreateAccount { password }))
            .boxed(),
        (text(), option::of(text()), option::of(any::<u32>()))
            .prop_map(|(recovery, password, last_public_address_id)| {
                K::RecoverAccount(RecoverAccount {
                    recovery,
                    password,
                    last_public_address_id,
                })
            })
            .boxed(),
        text()
            .prop_map(|password| K::Unseal(Unseal { password }))
            .boxed(),
        text()
            .prop_map(|new_password| K::ChangePassword(ChangePassword { new_password }))
            .boxed(),
        (ts(), any::<u64>())
            .prop_map(|(starting_from, limit)| {
                K::HistoryInfo(HistoryQuery {
                    starting_from,
                    limit,
                })
            })
            .boxed(),
        payment().prop_map(K::Payment).boxed(),
        payment().prop_map(K::SecurePayment).boxed(),
        payment().prop_map(K::PublicPayment).boxed(),
        any::<i64>()
            .prop_map(|payment_fee| K::CloakAll(CloakAll { payment_fee }))
            .boxed(),
        stake().prop_map(K::Stake).boxed(),
        stake().prop_map(K::Unstake).boxed(),
        option::of(any::<i64>())
            .prop_map(|payment_fee| K::UnstakeAll(UnstakeAll { payment_fee }))
            .boxed(),
        any::<u64>()
            .prop_map(|epoch| K::MacroBlockInfo(MacroBlockQuery { epoch }))
            .boxed(),
        position().prop_map(K::MicroBlockInfo).boxed(),
        position().prop_map(K::SubscribeChain).boxed(),
        (text(), text(), text(), text())
            .prop_map(|(utxo, spender, recipient, rvalue)| {
                K::ValidateCertificate(ValidateCertificate {
                    utxo,
                    spender,
                    recipient,
                    rvalue,
                })
            })
            .boxed(),
    ])
}

fn request() -> impl Strategy<Value = Request> {
    (any::<u64>(), option::of(text()), request_kind()).prop_map(|(id, account_id, kind)| Request {
        id,
        account_id,
        kind,
    })
}

fn amounts() -> impl Strategy<Value = BalanceAmounts> {
    (any::<i64>(), any::<i64>())
        .prop_map(|(current, available)| BalanceAmounts { current, available })
}

fn balance() -> impl Strategy<Value = Balance> {
    (
        amounts(),
        amounts(),
        amounts(),
        any::<i64>(),
        any::<i64>(),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(payment, public_payment, stake, current, available, is_final)| Balance {
                payment,
                public_payment,
                stake,
                current,
                available,
                is_final,
            },
        )
}

fn payment_utxo() -> impl Strategy<Value = PaymentUtxo> {
    (
        text(),
        any::<i64>(),
        text(),
        option::of(ts()),
        text(),
        option::of(text()),
        any::<bool>(),
    )
        .prop_map(
            |(utxo, amount, comment, locked_timestamp, recipient, rvalue, is_change)| PaymentUtxo {
                utxo,
                amount,
                comment,
                locked_timestamp,
                recipient,
                rvalue,
                is_change,
            },
        )
}

fn public_payment_utxo() -> impl Strategy<Value = PublicPaymentUtxo> {
    (text(), any::<i64>(), option::of(ts())).prop_map(|(utxo, amount, locked_timestamp)| {
        PublicPaymentUtxo {
            utxo,
            amount,
            locked_timestamp,
        }
    })
}

fn stake_utxo() -> impl Strategy<Value = StakeUtxo> {
    (text(), any::<i64>(), any::<u64>(), any::<bool>()).prop_map(
        |(utxo, amount, active_until_epoch, is_active)| StakeUtxo {
            utxo,
            amount,
            active_until_epoch,
            is_active,
        },
    )
}

fn output_info() -> impl Strategy<Value = OutputInfo> {
    (
        select(vec![
            OutputType::Payment,
            OutputType::PublicPayment,
            OutputType::Stake,
        ]),
        text(),
        any::<i64>(),
        text(),
        option::of(ts()),
        text(),
        option::of(text()),
        any::<bool>(),
    )
        .prop_map(
            |(
                output_type,
                utxo,
                amount,
                comment,
                locked_timestamp,
                recipient,
                rvalue,
                is_change,
            )| {
                OutputInfo {
                    output_type,
                    utxo,
                    amount,
                    comment,
                    locked_timestamp,
                    recipient,
                    rvalue,
                    is_change,
                }
            },
        )
}

fn tx_status() -> impl Strategy<Value = TxStatus> {
    select(vec![
        TxStatus::Created,
        TxStatus::Accepted,
        TxStatus::Rejected,
        TxStatus::Prepared,
        TxStatus::Rollback,
        TxStatus::Committed,
        TxStatus::Conflicted,
    ])
}

fn log_entry() -> impl Strategy<Value = LogEntry> {
    prop_oneof![
        (ts(), output_info()).prop_map(|(timestamp, output)| LogEntry::Incoming(IncomingEntry {
            timestamp,
            output
        })),
        (
            ts(),
            text(),
            any::<i64>(),
            small_vec(output_info()),
            small_vec(text()),
            tx_status(),
            option::of(any::<u64>()),
            option::of(any::<u32>()),
            option::of(text()),
        )
            .prop_map(
                |(timestamp, tx_hash, fee, outputs, inputs, status, epoch, offset, error)| {
                    LogEntry::Outgoing(OutgoingEntry {
                        timestamp,
                        tx_hash,
                        fee,
                        outputs,
                        inputs,
                        status,
                        epoch,
                        offset,
                        error,
                    })
                }
            ),
    ]
}

fn node_status() -> impl Strategy<Value = NodeStatus> {
    (
        any::<bool>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        text(),
        text(),
        ts(),
        ts(),
    )
        .prop_map(
            |(
                is_synchronized,
                epoch,
                offset,
                view_change,
                last_block_hash,
                last_macro_block_hash,
                last_macro_block_timestamp,
                local_timestamp,
            )| NodeStatus {
                is_synchronized,
                epoch,
                offset,
                view_change,
                last_block_hash,
                last_macro_block_hash,
                last_macro_block_timestamp,
                local_timestamp,
            },
        )
}

fn macro_block() -> impl Strategy<Value = MacroBlock> {
    (
        option::of(text()),
        any::<u64>(),
        option::of(text()),
        any::<u64>(),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(ts()),
        option::of(small_vec(text())),
        option::of(small_vec(text())),
        option::of(small_vec((text(), any::<u64>()).prop_map(
            |(network_pkey, slots)| BlockValidator {
                network_pkey,
                slots,
            },
        ))),
    )
        .prop_map(
            |(
                block_hash,
                version,
                previous,
                epoch,
                view_change,
                pkey,
                timestamp,
                inputs,
                outputs,
                validators,
            )| MacroBlock {
                block_hash,
                version,
                previous,
                epoch,
                view_change,
                pkey,
                timestamp,
                inputs,
                outputs,
                validators,
            },
        )
}

fn micro_block() -> impl Strategy<Value = MicroBlock> {
    let tx = (text(), small_vec(text()), small_vec(text()), any::<i64>()).prop_map(
        |(tx_hash, inputs, outputs, fee)| TxSummary {
            tx_hash,
            inputs,
            outputs,
            fee,
        },
    );
    (
        option::of(text()),
        any::<u64>(),
        option::of(text()),
        any::<u64>(),
        any::<u32>(),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(ts()),
        option::of(small_vec(tx)),
    )
        .prop_map(
            |(
                block_hash,
                version,
                previous,
                epoch,
                offset,
                view_change,
                pkey,
                timestamp,
                transactions,
            )| {
                MicroBlock {
                    block_hash,
                    version,
                    previous,
                    epoch,
                    offset,
                    view_change,
                    pkey,
                    timestamp,
                    transactions,
                }
            },
        )
}

fn server_kind() -> impl Strategy<Value = ServerKind> {
    use ServerKind as K;
    let units = select(vec![
        K::AccountCreated,
        K::AccountDeleted,
        K::Sealed,
        K::Unsealed,
        K::PasswordChanged,
        K::MicroBlockPopped,
        K::RestakingEnabled,
        K::RestakingDisabled,
    ]);
    let keys = || {
        (text(), option::of(text())).prop_map(|(account_pkey, network_pkey)| AccountKeys {
            account_pkey,
            network_pkey,
        })
    };
    let escrow_stake = (text(), text(), any::<u64>(), any::<bool>(), any::<i64>()).prop_map(
        |(utxo, account_pkey, active_until_epoch, is_active, amount)| EscrowStake {
            utxo,
            account_pkey,
            active_until_epoch,
            is_active,
            amount,
        },
    );
    let escrow_validator = (text(), any::<i64>(), any::<i64>(), small_vec(escrow_stake)).prop_map(
        |(network_pkey, active_stake, expired_stake, stakes)| EscrowValidator {
            network_pkey,
            active_stake,
            expired_stake,
            stakes,
        },
    );
    let snowball_state = select(vec![
        SnowballState::PoolWait,
        SnowballState::SharedKeying,
        SnowballState::Commitment,
        SnowballState::CloakedVals,
        SnowballState::SecretKeying,
        SnowballState::Signature,
        SnowballState::Succeeded,
        SnowballState::Failed,
    ]);
    Union::new(vec![
        units.boxed(),
        btree_map(text(), keys(), 0..4)
            .prop_map(|accounts| K::AccountsInfo(AccountsInfo { accounts }))
            .boxed(),
        (text(), option::of(any::<u32>()))
            .prop_map(|(recovery, last_public_address_id)| {
                K::Recovery(Recovery {
                    recovery,
                    last_public_address_id,
                })
            })
            .boxed(),
        keys().prop_map(K::AccountInfo).boxed(),
        balance().prop_map(K::BalanceInfo).boxed(),
        prop_oneof![
            balance().prop_map(BalanceChanged::Full),
            any::<i64>().prop_map(BalanceChanged::Total),
        ]
        .prop_map(K::BalanceChanged)
        .boxed(),
        (
            small_vec(public_payment_utxo()),
            small_vec(payment_utxo()),
            small_vec(stake_utxo()),
        )
            .prop_map(|(public_payments, payments, stakes)| {
                K::UnspentInfo(UnspentInfo {
                    public_payments,
                    payments,
                    stakes,
                })
            })
            .boxed(),
        (text(), any::<u32>())
            .prop_map(|(public_address, public_address_id)| {
                K::PublicAddressCreated(PublicAddressCreated {
                    public_address,
                    public_address_id,
                })
            })
            .boxed(),
        btree_map(
            any::<u32>(),
            text().prop_map(|address| PublicAddress { address }),
            0..4,
        )
        .prop_map(|public_addresses| {
            K::PublicAddressesInfo(PublicAddressesInfo { public_addresses })
        })
        .boxed(),
        (
            text(),
            any::<i64>(),
            small_vec(output_info()),
            small_vec(text()),
            tx_status(),
        )
            .prop_map(|(tx_hash, fee, outputs, inputs, status)| {
                K::TransactionCreated(TransactionCreated {
                    tx_hash,
                    fee,
                    outputs,
                    inputs,
                    status,
                })
            })
            .boxed(),
        small_vec(log_entry())
            .prop_map(|log| K::HistoryInfo(HistoryInfo { log }))
            .boxed(),
        (any::<u64>(), text(), any::<bool>(), ts(), any::<i64>())
            .prop_map(|(epoch, block_hash, is_final, timestamp, amount)| {
                K::CertificateValid(CertificateValid {
                    epoch,
                    block_hash,
                    is_final,
                    timestamp,
                    amount,
                })
            })
            .boxed(),
        node_status().prop_map(K::StatusInfo).boxed(),
        node_status().prop_map(K::SubscribedStatus).boxed(),
        node_status().prop_map(K::StatusChanged).boxed(),
        macro_block().prop_map(K::MacroBlockInfo).boxed(),
        macro_block().prop_map(K::MacroBlockCommitted).boxed(),
        micro_block().prop_map(K::MicroBlockInfo).boxed(),
        micro_block().prop_map(K::MicroBlockPrepared).boxed(),
        micro_block().prop_map(K::MicroBlockReverted).boxed(),
        (any::<u64>(), any::<u32>())
            .prop_map(|(current_epoch, current_offset)| {
                K::SubscribedChain(SubscribedChain {
                    current_epoch,
                    current_offset,
                })
            })
            .boxed(),
        small_vec(escrow_validator)
            .prop_map(|validators| K::EscrowInfo(EscrowInfo { validators }))
            .boxed(),
        (
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            text(),
            option::of(text()),
        )
            .prop_map(
                |(epoch, offset, view_change, slots_count, current_leader, next_leader)| {
                    K::ElectionInfo(ElectionInfo {
                        epoch,
                        offset,
                        view_change,
                        slots_count,
                        current_leader,
                        next_leader,
                    })
                },
            )
            .boxed(),
        text()
            .prop_map(|name| K::ChainName(ChainName { name }))
            .boxed(),
        (
            text(),
            tx_status(),
            option::of(any::<u64>()),
            option::of(any::<u32>()),
            option::of(text()),
        )
            .prop_map(|(tx_hash, status, epoch, offset, error)| {
                K::TransactionStatus(TransactionStatus {
                    tx_hash,
                    status,
                    epoch,
                    offset,
                    error,
                })
            })
            .boxed(),
        (
            snowball_state,
            option::of(text()),
            option::of(any::<u64>()),
            option::of(any::<u32>()),
        )
            .prop_map(|(state, error, session_id, participants)| {
                K::SnowballStatus(SnowballStatus {
                    state,
                    error,
                    session_id,
                    participants,
                })
            })
            .boxed(),
        payment_utxo().prop_map(K::Received).boxed(),
        payment_utxo().prop_map(K::Spent).boxed(),
        public_payment_utxo().prop_map(K::ReceivedPublic).boxed(),
        public_payment_utxo().prop_map(K::SpentPublic).boxed(),
        stake_utxo().prop_map(K::Staked).boxed(),
        stake_utxo().prop_map(K::Unstaked).boxed(),
        any::<u64>()
            .prop_map(|dropped| K::Lagged(Lagged { dropped }))
            .boxed(),
        (text(), option::of(error_code()))
            .prop_map(|(error, code)| K::Error(ErrorBody { error, code }))
            .boxed(),
    ])
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    (any::<u64>(), option::of(text()), server_kind()).prop_map(|(id, account_id, kind)| {
        ServerMessage {
            id,
            account_id,
            kind,
        }
    })
}

/// Every key any body or the envelope uses, so generated objects often hit real fields
/// with values of the wrong shape.
const KEYS: &[&str] = &[
    "type",
    "id",
    "account_id",
    "password",
    "recovery",
    "last_public_address_id",
    "new_password",
    "starting_from",
    "limit",
    "recipient",
    "amount",
    "payment_fee",
    "comment",
    "locked_timestamp",
    "with_certificate",
    "epoch",
    "offset",
    "utxo",
    "output_hash",
    "spender",
    "rvalue",
    "accounts",
    "account_pkey",
    "network_pkey",
    "payment",
    "public_payment",
    "stake",
    "current",
    "available",
    "is_final",
    "balance",
    "public_payments",
    "payments",
    "stakes",
    "is_change",
    "active_until_epoch",
    "is_active",
    "public_address",
    "public_address_id",
    "public_addresses",
    "address",
    "tx_hash",
    "fee",
    "outputs",
    "inputs",
    "status",
    "output_type",
    "log",
    "timestamp",
    "block_hash",
    "version",
    "previous",
    "view_change",
    "pkey",
    "transactions",
    "validators",
    "slots",
    "current_epoch",
    "current_offset",
    "active_stake",
    "expired_stake",
    "slots_count",
    "current_leader",
    "next_leader",
    "name",
    "state",
    "error",
    "code",
    "dropped",
    "is_synchronized",
    "last_block_hash",
    "last_macro_block_hash",
    "last_macro_block_timestamp",
    "local_timestamp",
];

/// Strings that are meaningful somewhere: type names, enum values, timestamps.
fn meaningful_string() -> impl Strategy<Value = String> {
    let mut words: Vec<&'static str> = RequestKind::TYPE_NAMES.to_vec();
    words.extend_from_slice(ServerKind::TYPE_NAMES);
    words.extend_from_slice(&[
        "list_accounts",
        "get_recovery",
        "incoming",
        "outgoing",
        "created",
        "create",
        "committed",
        "pool_wait",
        "failed",
        "stake",
        "public_payment",
        "2019-08-21T13:05:53.045364692Z",
        "1969-12-31T23:59:59Z",
        "2019-13-01T00:00:00Z",
    ]);
    prop_oneof![select(words).prop_map(str::to_owned), text()]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        meaningful_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(select(KEYS).prop_map(str::to_owned), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A top-level object that usually has a real `type` and real field names.
fn envelope_like() -> impl Strategy<Value = Vec<u8>> {
    (
        option::of(meaningful_string()),
        btree_map(select(KEYS).prop_map(str::to_owned), json_value(), 0..10),
        any::<bool>(),
    )
        .prop_map(|(type_name, fields, type_first)| {
            let mut map = serde_json::Map::new();
            let type_entry = type_name.map(|name| ("type".to_owned(), Value::String(name)));
            if type_first {
                map.extend(type_entry.clone());
            }
            map.extend(fields);
            if !type_first {
                map.extend(type_entry);
            }
            serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
        })
}

/// Decoding must be idempotent on what it accepts: encode(decode(x)) decodes to the same.
fn check_stable(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(request) = Request::from_json(bytes) {
        let mut out = Vec::new();
        request.to_json(&mut out);
        prop_assert_eq!(Request::from_json(&out), Ok(request));
    }
    if let Ok(message) = ServerMessage::from_json(bytes) {
        let mut out = Vec::new();
        message.to_json(&mut out);
        prop_assert_eq!(ServerMessage::from_json(&out), Ok(message));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(request in request()) {
        let mut out = b"prefix".to_vec();
        request.to_json(&mut out);
        let type_first = out.starts_with(b"prefix{\"type\":\"");
        prop_assert!(type_first, "not type first: {}", String::from_utf8_lossy(&out));
        let decoded = Request::from_json(&out[6..]);
        prop_assert_eq!(decoded, Ok(request.clone()));
        // Also through the plain serde impls.
        let text = serde_json::to_string(&request).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let via_serde: Request = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(via_serde, request);
    }

    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let mut out = Vec::new();
        message.to_json(&mut out);
        let type_first = out.starts_with(b"{\"type\":\"");
        prop_assert!(type_first, "not type first: {}", String::from_utf8_lossy(&out));
        prop_assert_eq!(ServerMessage::from_json(&out), Ok(message.clone()));
        let value = serde_json::to_value(&message).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let via_value: ServerMessage = serde_json::from_value(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(via_value, message);
    }

    #[test]
    fn envelope_keys_in_any_position_decode_the_same(message in server_message(), rotate in 0usize..32) {
        // Move the keys around: the decoder must not depend on their order.
        let mut out = Vec::new();
        message.to_json(&mut out);
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&out) else {
            return Err(TestCaseError::fail("encoded message is not an object"));
        };
        let mut entries: Vec<(String, Value)> = map.into_iter().collect();
        let len = entries.len().max(1);
        entries.rotate_left(rotate % len);
        let mut text = String::from("{");
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(key).unwrap_or_default());
            text.push(':');
            text.push_str(&serde_json::to_string(value).unwrap_or_default());
        }
        text.push('}');
        prop_assert_eq!(ServerMessage::from_json(text.as_bytes()), Ok(message));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let _ = Request::from_json(&bytes);
        let _ = ServerMessage::from_json(&bytes);
    }

    #[test]
    fn json_ish_text_never_panics(text in r#"[{}\[\]":,0-9a-z_ .\-+eE\\ntrufals]{0,96}"#) {
        check_stable(text.as_bytes())?;
    }

    #[test]
    fn arbitrary_objects_never_panic_and_decode_stably(bytes in envelope_like()) {
        check_stable(&bytes)?;
        if let Err(e) = Request::from_json(&bytes) {
            // Every failure maps to a code and renders.
            prop_assert!(!e.code().as_str().is_empty());
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn mangled_messages_never_panic(
        message in server_message(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut out = Vec::new();
        message.to_json(&mut out);
        let mut flipped = out.clone();
        let at = flip.index(flipped.len());
        flipped[at] = byte;
        check_stable(&flipped)?;
        let truncated = &out[..cut.index(out.len())];
        prop_assert!(ServerMessage::from_json(truncated).is_err());
    }
}

#[test]
fn every_error_code_round_trips_by_name() {
    for code in ErrorCode::ALL {
        assert_eq!(&ErrorCode::from_name(code.as_str()), code);
        let json = serde_json::to_string(code).unwrap();
        assert_eq!(&serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
    }
    assert_eq!(
        ErrorCode::from_name("quota_exceeded_on_mars"),
        ErrorCode::Other("quota_exceeded_on_mars".into())
    );
    let names: std::collections::BTreeSet<_> =
        ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
    assert_eq!(
        names.len(),
        ErrorCode::ALL.len(),
        "duplicate error code names"
    );
}

#[test]
fn type_name_tables_have_no_duplicates() {
    use envelope::Kind;
    let requests: std::collections::BTreeSet<_> = RequestKind::TYPE_NAMES.iter().collect();
    assert_eq!(requests.len(), RequestKind::TYPE_NAMES.len());
    let server: std::collections::BTreeSet<_> = ServerKind::TYPE_NAMES.iter().collect();
    assert_eq!(server.len(), ServerKind::TYPE_NAMES.len());
    for name in RequestKind::TYPE_NAMES {
        let tag = RequestKind::tag_of(name).unwrap();
        assert_eq!(RequestKind::tag_name(tag), *name);
    }
    for name in ServerKind::TYPE_NAMES {
        let tag = ServerKind::tag_of(name).unwrap();
        assert_eq!(ServerKind::tag_name(tag), *name);
    }
}
