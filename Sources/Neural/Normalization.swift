//// Batch normalisation over the rows of a batch, per feature (PyTorch's `nn.BatchNorm1d`):
/// training uses the batch mean and biased variance and updates running estimates with
/// `momentum` (running variance unbiased, as PyTorch); evaluation uses the running estimates.
public struct BatchNorm<T: GEMMScalar>: Sendable {
    public var gamma: [T]
    public var beta: [T]
    public var gammaGradient: [T]
    public var betaGradient: [T]
    public var runningMean: [T]
    public var runningVariance: [T]
    public var training = true
    public let eps: T
    public let momentum: T
    var normalized: Matrix<T>?
    var inverseStd: [T] = []

    public init(features: Int, eps: T = 1e-5, momentum: T = 0.1) {
        gamma = [T](repeating: 1, count: features)
        beta = [T](repeating: 0, count: features)
        gammaGradient = [T](repeating: 0, count: features)
        betaGradient = gammaGradient
        runningMean = [T](repeating: 0, count: features)
        runningVariance = [T](repeating: 1, count: features)
        self.eps = eps
        self.momentum = momentum
    }

    public mutating func forward(_ x: Matrix<T>) -> Matrix<T> {
        let n = x.rows, f = x.columns
        var y = x, xhat = x
        inverseStd = [T](repeating: 0, count: f)
        for c in 0..<f {
            var mean: T, variance: T
            if training {
                mean = 0
                for r in 0..<n { mean += x[r, c] }
                mean /= T(n)
                variance = 0
                for r in 0..<n { let d = x[r, c] - mean; variance += d * d }
                variance /= T(n)
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean
                let unbiased = n > 1 ? variance * T(n) / T(n - 1) : variance
                runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * unbiased
            } else {
                mean = runningMean[c]
                variance = runningVariance[c]
            }
            let inv = 1 / (variance + eps).squareRoot()
            inverseStd[c] = inv
            for r in 0..<n {
                xhat[r, c] = (x[r, c] - mean) * inv
                y[r, c] = xhat[r, c] * gamma[c] + beta[c]
            }
        }
        normalized = xhat
        return y
    }

    /// Backward of the training-mode forward (the batch statistics depend on every row).
    public mutating func backward(_ dy: Matrix<T>) -> Matrix<T> {
        guard let xhat = normalized else { preconditionFailure("backward before forward") }
        let n = dy.rows, f = dy.columns
        var dx = dy
        for c in 0..<f {
            var sumG: T = 0, sumGX: T = 0
            for r in 0..<n {
                sumG += dy[r, c]
                sumGX += dy[r, c] * xhat[r, c]
            }
            gammaGradient[c] += sumGX
            betaGradient[c] += sumG
            for r in 0..<n {
                dx[r, c] = training
                    ? gamma[c] * inverseStd[c] * (dy[r, c] - sumG / T(n) - xhat[r, c] * sumGX / T(n))
                    : gamma[c] * inverseStd[c] * dy[r, c]
            }
        }
        return dx
    }
}

