import CNetworkKernels
import Foundation

/// Adam and AdamW with PyTorch's update rule (torch.optim.Adam/AdamW, amsgrad off), over one
/// flat parameter buffer so that a step is a single loop:
///   g ← g + λp (Adam's L2 form) | p ← p(1 − ηλ) (AdamW's decoupled form)
///   m ← m + (1 − β1)(g − m)  (lerp),  v ← β2 v + (1 − β2) g²   (both one FMA, as PyTorch's)
///   p ← p + (−η / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
/// in that order of operations and with the scalars rounded to Float where PyTorch's
/// single-tensor implementation (the CPU default) rounds them. Checked against torch 2.15
/// (`scripts/reference/torch_optimizers.py`): m and v agree to the bit; PyTorch's vectorised
/// square root (SLEEF, ≤ 0.5001 ulp) is not correctly rounded, so √v — and through it the
/// parameters — can differ by an ulp.
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

    /// One update of `parameters` from `gradients` (same layout), eight lanes at a time and split
    /// over the cores for large buffers; the same float operations in the same order as
    /// `referenceUpdate`, so the result is identical to the bit.
    public mutating func update(_ parameters: inout [Float], gradients: [Float]) {
        precondition(parameters.count == m.count && gradients.count == m.count, "Adam: buffer sizes differ")
        step += 1
        let c = constants
        let n = parameters.count
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                parameters.withUnsafeMutableBufferPointer { pb in
                    gradients.withUnsafeBufferPointer { gb in
                        nonisolated(unsafe) let (mp, vp, pp, gp) = (mb.baseAddress!, vb.baseAddress!, pb.baseAddress!, gb.baseAddress!)
                        let body: @Sendable (Int, Int, Int) -> Void = { i0, i1, _ in
                            withUnsafePointer(to: c) { tfk_adam($0, pp, gp, mp, vp, i0, i1) }
                        }
                        if n >= 65_536 { BLASThreads.shards(rows: n, body) } else { body(0, n, 0) }
                    }
                }
            }
        }
    }

    /// The update one element at a time: the definition the fast path is tested against.
    public mutating func referenceUpdate(_ parameters: inout [Float], gradients: [Float]) {
        precondition(parameters.count == m.count && gradients.count == m.count, "Adam: buffer sizes differ")
        step += 1
        let c = constants
        for i in parameters.indices {
            var g = gradients[i]
            // PyTorch's CPU kernels fuse these multiply-adds (its AVX2 build contracts them to FMA).
            if c.decoupled != 0 { parameters[i] *= c.decay } else if c.l2 != 0 { g = g.addingProduct(c.l2, parameters[i]) }
            m[i] = m[i].addingProduct(c.w1, g - m[i])               // exp_avg.lerp_(grad, 1 − β1)
            v[i] = (v[i] * c.b2).addingProduct(c.w2 * g, g)         // exp_avg_sq.mul_(β2).addcmul_(grad, grad, 1 − β2)
            let denom = v[i].squareRoot() / c.bc2_sqrt + c.eps    // (√v / √(1 − β2ᵗ)).add_(ε)
            parameters[i] = parameters[i] + c.neg_step * m[i] / denom  // addcdiv_(m, denom, −η/(1 − β1ᵗ))
        }
    }

    /// The scalars of step `step`, rounded to Float where PyTorch rounds them.
    var constants: tfk_adam_constants {
        let bc1 = 1 - pow(beta1, Double(step)), bc2 = 1 - pow(beta2, Double(step))
        return tfk_adam_constants(w1: Float(1 - beta1), b2: Float(beta2), w2: Float(1 - beta2), eps: Float(epsilon),
                                  bc2_sqrt: Float(bc2.squareRoot()), neg_step: Float(-(learningRate / bc1)),
                                  decay: Float(1 - learningRate * weightDecay), l2: Float(weightDecay),
                                  decoupled: decoupled ? 1 : 0)
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
        let mu = Float(momentum), wd = Float(weightDecay)
        let first = buffer == nil
        if first && momentum != 0 { buffer = [Float](repeating: 0, count: parameters.count) }
        // PyTorch's `add(…, alpha:)` is one fused multiply-add on the CPU; so is every step here.
        let negLR = Float(-learningRate), keep = Float(1 - dampening)
        for i in parameters.indices {
            var g = wd != 0 ? gradients[i].addingProduct(parameters[i], wd) : gradients[i]
            if momentum != 0 {
                let b = first ? g : (buffer![i] * mu).addingProduct(g, keep)
                buffer![i] = b
                g = nesterov ? g.addingProduct(b, mu) : b
            }
            parameters[i] = parameters[i].addingProduct(g, negLR)
        }
    }
}
