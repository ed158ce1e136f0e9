import numpy as np
import pytest
from scipy.stats import multivariate_normal

from spiking_bpdl.metrics import cosine_similarity, parzen_log_likelihood, parzen_select_sigma


def test_parzen_matches_mixture_density_exactly():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(7, 4))
    x = rng.normal(size=(50, 4))
    sigma = 0.8
    dens = np.mean([multivariate_normal(c, sigma**2 * np.eye(4)).pdf(x) for c in centres], axis=0)
    np.testing.assert_allclose(parzen_log_likelihood(centres, x, sigma, chunk=3), np.log(dens), rtol=1e-10)


@pytest.mark.slow
def test_parzen_recovers_known_density_with_many_samples():
    # Samples from N(0, 1) in 2-D; the Parzen estimate with a small kernel approaches
    # the true log density. Monte-Carlo error of the mean over 2000 points ~ 0.03.
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(20000, 2))
    x = rng.normal(size=(2000, 2))
    sigma, _ = parzen_select_sigma(samples, rng.normal(size=(1000, 2)), sigmas=[0.05, 0.1, 0.2, 0.3, 0.5])
    est = parzen_log_likelihood(samples, x, sigma)
    true = multivariate_normal(np.zeros(2), np.eye(2)).logpdf(x)
    sem = est.std() / np.sqrt(len(x))
    # kernel smoothing inflates the variance by sigma^2: bias is O(sigma^2) and small here
    assert abs(est.mean() - true.mean()) < 4 * sem + 0.5 * sigma**2


def test_parzen_bounded_memory_chunks_agree():
    rng = np.random.default_rng(3)
    s, x = rng.random((300, 10)), rng.random((40, 10))
    full = parzen_log_likelihood(s, x, 0.3, chunk=1000)
    small = parzen_log_likelihood(s, x, 0.3, max_bytes=8 * 300 * 2)
    np.testing.assert_allclose(full, small)


def test_cosine():
    assert cosine_similarity([1, 0], [1, 0]) == 1.0
    assert abs(cosine_similarity([1, 0], [0, 1])) < 1e-12
    # the angle, not the lengths or the layout: scale-invariant, signed, arrays flattened
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    expect = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
    assert cosine_similarity(a, b) == pytest.approx(expect, rel=1e-12)
    assert cosine_similarity(7.0 * a, 0.01 * b) == pytest.approx(expect, rel=1e-12)
    assert cosine_similarity(a, -b) == pytest.approx(-expect, rel=1e-12)
    assert cosine_similarity(a, -3 * a) == pytest.approx(-1.0, rel=1e-12)
