"""The KD loss against values computed by hand in NumPy, not by the code under test."""

import numpy as np
import pytest
import torch

from edgekd.distill.losses import IGNORE, KDLoss, kd_loss, soft_targets


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _hand_loss(s, t, y, T, alpha):
    p_t = _softmax(t / T)
    q_s = _softmax(s / T)
    kl = (p_t * (np.log(p_t) - np.log(q_s))).sum(axis=1).mean()
    ce = -np.log(_softmax(s)[np.arange(len(y)), y]).mean()
    return (1 - alpha) * ce + alpha * T**2 * kl


S = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
T_LOGITS = np.array([[3.0, 2.0, 1.0], [0.0, 0.0, 4.0]])
Y = np.array([0, 2])


@pytest.mark.parametrize("T,alpha", [(1.0, 0.5), (2.0, 0.5), (4.0, 0.9), (8.0, 0.0), (3.0, 1.0)])
def test_loss_matches_hand_computation(T, alpha):
    got = kd_loss(
        torch.tensor(S),
        torch.tensor(Y),
        soft_targets(torch.tensor(T_LOGITS), T),
        temperature=T,
        alpha=alpha,
    )
    assert float(got) == pytest.approx(_hand_loss(S, T_LOGITS, Y, T, alpha), rel=1e-9)


def test_hand_value_for_one_sample():
    # s=[1,2,3], t=[3,2,1], y=0, T=2, alpha=0.5
    got = kd_loss(
        torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64),
        torch.tensor([0]),
        soft_targets(torch.tensor([[3.0, 2.0, 1.0]], dtype=torch.float64), 2.0),
        temperature=2.0,
        alpha=0.5,
    )
    ce = np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 1
    p = np.exp([1.5, 1.0, 0.5]) / np.exp([1.5, 1.0, 0.5]).sum()
    q = np.exp([0.5, 1.0, 1.5]) / np.exp([0.5, 1.0, 1.5]).sum()
    kl = float((p * np.log(p / q)).sum())
    assert float(got) == pytest.approx(0.5 * ce + 0.5 * 4 * kl, rel=1e-12)
    # by hand: CE = 2.4076, p = [.5065 .3072 .1863], q = p reversed, KL = .3202
    assert float(got) == pytest.approx(0.5 * 2.4076 + 2 * 0.3202, abs=1e-3)


@pytest.mark.parametrize("T", [1.0, 2.0, 5.0, 20.0])
def test_soft_gradient_is_T_times_probability_gap(T):
    """d/ds [T^2 KL(p_t || q_s)] = T (q_s - p_t) / B: the T^2 factor makes the soft-target
    gradient shrink only as 1/T rather than 1/T^2, which keeps it comparable to the hard one."""
    s = torch.tensor(S, requires_grad=True)
    loss = kd_loss(s, None, soft_targets(torch.tensor(T_LOGITS), T), temperature=T, alpha=1.0)
    loss.backward()
    expected = T * (_softmax(S / T) - _softmax(T_LOGITS / T)) / len(S)
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_high_temperature_gradient_matches_logit_matching():
    """Hinton's limit: at high T, T^2 KL's gradient -> (s - t) / C for zero-mean logits,
    independent of T: exactly what the T^2 scale is for."""
    s0 = S - S.mean(1, keepdims=True)
    t0 = T_LOGITS - T_LOGITS.mean(1, keepdims=True)
    T = 1000.0
    s = torch.tensor(s0, requires_grad=True)
    kd_loss(s, None, soft_targets(torch.tensor(t0), T), temperature=T, alpha=1.0).backward()
    C = S.shape[1]
    np.testing.assert_allclose(s.grad.numpy(), (s0 - t0) / (C * len(S)), rtol=1e-2, atol=1e-6)


def test_no_labels_gives_soft_term_alone():
    T, probs = 3.0, soft_targets(torch.tensor(T_LOGITS), 3.0)
    soft_only = _hand_loss(S, T_LOGITS, Y, T, alpha=1.0)
    none = kd_loss(torch.tensor(S), None, probs, temperature=T, alpha=0.3)
    ignored = kd_loss(torch.tensor(S), torch.full((2,), IGNORE), probs, temperature=T, alpha=0.3)
    assert float(none) == pytest.approx(soft_only, rel=1e-9)
    assert float(ignored) == pytest.approx(soft_only, rel=1e-9)


def test_unlabelled_samples_do_not_enter_the_hard_term():
    T, alpha = 2.0, 0.4
    probs = soft_targets(torch.tensor(T_LOGITS), T)
    mixed = kd_loss(torch.tensor(S), torch.tensor([0, IGNORE]), probs, temperature=T, alpha=alpha)
    soft = T**2 * _hand_loss(S, T_LOGITS, Y, T, alpha=1.0) / T**2
    ce_first = -np.log(_softmax(S)[0, 0])
    assert float(mixed) == pytest.approx((1 - alpha) * ce_first + alpha * soft, rel=1e-9)


def test_no_teacher_is_plain_cross_entropy():
    got = kd_loss(torch.tensor(S), torch.tensor(Y), None, temperature=4.0, alpha=0.9)
    assert float(got) == pytest.approx(_hand_loss(S, T_LOGITS, Y, 1.0, alpha=0.0), rel=1e-9)


def test_module_takes_raw_teacher_logits():
    loss = KDLoss(temperature=2.5, alpha=0.7)
    got = loss(torch.tensor(S), torch.tensor(T_LOGITS), torch.tensor(Y))
    assert float(got) == pytest.approx(_hand_loss(S, T_LOGITS, Y, 2.5, 0.7), rel=1e-9)
