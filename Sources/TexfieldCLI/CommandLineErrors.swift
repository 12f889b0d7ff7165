import ArgumentParser
import Dynamics
import Spectral
import TextureField

/// Library errors describe the problem in the library's words; on the command line they also
/// name the flag that fixes it. Errors of the argument parser pass through unchanged.
func commandLineError(_ error: Error) -> Error {
    switch error {
    case FieldError.tooManyEigenfunctions(let k, let n):
        return CommandError("-k \(k): \(error); use -k \(max(1, n - 1)) or less")
    case FieldError.uvOutside:
        return CommandError("\(error): pass --uv-border wrap to tile the texture or --uv-border clamp to repeat its edge")
    case FieldError.configurationChanged:
        return CommandError("\(error): only --steps and --seconds may change on --resume")
    case FieldError.inputsChanged:
        return CommandError("\(error); pass --force to go on anyway, or fit again")
    case FieldError.diverged:
        return CommandError("\(error). On the command line: fit again with a lower --lr.")
    case FieldError.noTexture:
        return CommandError("\(error); pass TEXTURE.png")
    case DynamicsError.checkpointMismatch:
        return CommandError("\(error) (--epochs); delete it to start over")
    case SpectralError.invalidInput(let m) where m.contains("the dense method computes"):
        return CommandError(m.replacingOccurrences(of: "the dense method computes", with: "the dense method (--method dense) computes"))
    default:
        return error
    }
}

/// A failure while running a command (bad file, failed solve): printed as `Error: message`,
/// without the usage text that argument errors get.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
