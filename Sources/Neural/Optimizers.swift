import Foundation

/// Adam and AdamW with PyTorch's update rule (torch.optim.Adam/AdamW, amsgrad off), over one
/// flat parameter buffer so that a step is a single loop:
///   g ← g + λp (Adam's L2 form) | p ← p(1 − ηλ) (AdamW's decoupled form)
///   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²
///   p ← p − (η / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
/// in that order of operations, as PyTorch's single-tensor implementation computes it.
public struct Adam: Sendable, Codable, Equatable {
    public var learningRate: Double
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    public var weightDecay: Double = 0
    /// True: AdamW (decoupled weight decay); false: Adam (L2 added to the gradient).
    public var decoupled: Bool = false
    public internal(set) var step: Int = 0
    public internal(set) var m: [Float]
    public internal(set) var v: [Float]

    public init(parameterCount: Int, learningRate: Double, decoupled: Bool = false, weightDecay: Double = 0) {
        self.learningRate = learningRate
        self.decoupled = decoupled
        self.weightDecay = weightDecay
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
    }

    /// One update of `parameters` from `gradients` (same layout).
    public mutating func update(_ parameters: inout [Float], gradients: [Float]) {
        precondition(parameters.count == m.count && gradients.count == m.count, "Adam: buffer sizes differ")
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon), lr = Float(learningRate), wd = Float(weightDecay)
        let bc1 = 1 - pow(beta1, Double(step)), bc2 = 1 - pow(beta2, Double(step))
        let stepSize = Float(learningRate / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let decoupled = self.decoupled
        m.withUnsafeMutableBufferPointer { mp in
            v.withUnsafeMutableBufferPointer { vp in
                parameters.withUnsafeMutableBufferPointer { pp in
                    gradients.withUnsafeBufferPointer { gp in
                        for i in 0..<pp.count {
                            var g = gp[i]
                            if decoupled { pp[i] *= 1 - lr * wd } else if wd != 0 { g += wd * pp[i] }
                            mp[i] = mp[i] * b1 + (1 - b1) * g
                            vp[i] = vp[i] * b2 + (1 - b2) * g * g
                            let denom = vp[i].squareRoot() / bc2Sqrt + eps
                            pp[i] -= stepSize * mp[i] / denom
                        }
                    }
                }
            }
        }
    }
}

/// Stochastic gradient descent with PyTorch's rules (torch.optim.SGD): weight decay added to
/// the gradient, momentum buffer b ← μb + (1 − dampening)g (b = g on the first step), Nesterov
/// g ← g + μb, p ← p − ηg.
public struct SGD: Sendable, Codable, Equatable {
    public var learningRate: Double
    public var momentum: Double = 0
    public var dampening: Double = 0
    public var nesterov: Bool = false
    public var weightDecay: Double = 0
    public private(set) var buffer: [Float]?

    public init(learningRate: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public mutating func update(_ parameters: inout [Float], gradients: [Float]) {
        let lr = Float(learningRate), mu = Float(momentum), damp = Float(dampening), wd = Float(weightDecay)
        let first = buffer == nil
        if first && momentum != 0 { buffer = [Float](repeating: 0, count: parameters.count) }
        for i in parameters.indices {
            var g = gradients[i] + wd * parameters[i]
            if momentum != 0 {
                let b = first ? g : mu * buffer![i] + (1 - damp) * g
                buffer![i] = b
                g = nesterov ? g + mu * b : b
            }
            parameters[i] -= lr * g
        }
    }
}
