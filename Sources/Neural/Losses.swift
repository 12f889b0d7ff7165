/// Regression losses: the mean over all entries (PyTorch's `reduction='mean'`), the gradient
/// with respect to the prediction, and each sample's (row's) mean loss.
public enum Loss: Sendable {
    case l1
    case mse

    /// Returns (mean loss, d loss / d prediction, per-sample losses).
    public func evaluate<T: GEMMScalar>(_ prediction: Matrix<T>, _ target: Matrix<T>) -> (T, Matrix<T>, [T]) {
        precondition(prediction.rows == target.rows && prediction.columns == target.columns, "loss shape mismatch")
        let count = T(prediction.values.count)
        var grad = Matrix<T>(rows: prediction.rows, columns: prediction.columns)
        var perSample = [T](repeating: 0, count: prediction.rows)
        var total: T = 0
        for r in 0..<prediction.rows {
            var s: T = 0
            for c in 0..<prediction.columns {
                let i = r * prediction.columns + c
                let d = prediction.values[i] - target.values[i]
                switch self {
                case .l1:
                    s += abs(d)
                    grad.values[i] = (d > 0 ? 1 : (d < 0 ? -1 : 0)) / count
                case .mse:
                    s += d * d
                    grad.values[i] = 2 * d / count
                }
            }
            perSample[r] = s / T(prediction.columns)
            total += s
        }
        return (total / count, grad, perSample)
    }
}
