//! Signed transactions for tests: payment outputs, single and joint signatures, and a
//! payment from the genesis-funded account.

use stegosim_node::chain::genesis::GenesisKeys;
use stegosim_node::chain::tx::{Output, PaymentPayload, Transaction};
use stegosim_node::crypto::{Hash, JointSigning, Keypair, NonceSecret, PublicKey, sign};

use super::Net;

/// A payment output of `amount` to `to`, its payload encrypted with an r-value from `r_seed`.
pub fn payment_output(
    to: &PublicKey,
    amount: i64,
    locked_until_ns: Option<u64>,
    r_seed: [u8; 32],
) -> Output {
    PaymentPayload {
        amount,
        comment: "test".into(),
        spender: None,
        rvalue_hint: false,
    }
    .into_output(to, locked_until_ns, r_seed)
}

/// A transaction signed by the sum of `signers`' keys (one signer per input, in input
/// order; a single signer signs alone, several sign jointly).
pub fn signed_tx(
    signers: &[&Keypair],
    inputs: Vec<Hash>,
    outputs: Vec<Output>,
    fee: i64,
) -> Transaction {
    let body = Transaction::body_hash(&inputs, &outputs, fee);
    let signature = match signers {
        [one] => sign(one.secret(), body.as_bytes()),
        many => {
            let nonces: Vec<NonceSecret> = many
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let mut seed = *body.as_bytes();
                    seed[0] ^= i as u8;
                    NonceSecret::derive(k.secret(), seed)
                })
                .collect();
            let commitments: Vec<_> = nonces.iter().map(NonceSecret::commitment).collect();
            let keys: Vec<PublicKey> = many.iter().map(|k| *k.public()).collect();
            let session = JointSigning::new(&keys, &commitments, body.as_bytes())
                .expect("test keys do not cancel out");
            let partials: Vec<_> = many
                .iter()
                .zip(nonces)
                .map(|(k, n)| session.sign_partial(k.secret(), n))
                .collect();
            session.combine(&partials)
        }
    };
    Transaction::new(inputs, outputs, fee, signature)
}

/// A payment of `amount` from the genesis-funded account to a fresh key, spending the first
/// genesis output node `id` still sees unspent.
pub fn genesis_payment(net: &Net, id: u32, amount: i64, salt: u8) -> Transaction {
    let keys = GenesisKeys::derive(&net.chain);
    let funded = keys.funded_account;
    let ledger = &net.node(id).chain().ledger;
    let (input, utxo) = ledger
        .iter()
        .find(|(h, u)| {
            u.output.owner() == funded.public()
                && !net.node(id).mempool().claimed().contains_key(h)
                && matches!(u.output, Output::Payment(_))
        })
        .map(|(h, u)| (*h, u.clone()))
        .expect("genesis funds");
    let fee = 2 * net.chain.payment_fee_min;
    let to = Keypair::from_seed([salt; 32]);
    let pay = payment_output(to.public(), amount, None, [salt; 32]);
    let change_amount = utxo.output.amount() - amount - fee;
    let change = payment_output(
        funded.public(),
        change_amount,
        None,
        [salt.wrapping_add(100); 32],
    );
    signed_tx(&[&funded], vec![input], vec![pay, change], fee)
}
