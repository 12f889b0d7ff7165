import ArgumentParser

/// The `texfield` command: intrinsic neural fields on triangle meshes.
public struct TexfieldCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "texfield",
        abstract: "Laplace–Beltrami eigenfunctions and intrinsic neural fields on triangle meshes.",
        subcommands: [FitCommand.self, DemoCommand.self, EvalCommand.self, BakeCommand.self, TransferCommand.self, ExperimentCommand.self, DynamicsCommand.self, GraphsCommand.self, InfoCommand.self, EigsCommand.self, LaplacianCommand.self, RenderCommand.self, MeshCommand.self, MetricsCommand.self, BenchCommand.self])

    public init() {}

    /// Parses the command line and runs the command; errors are printed with the flag that fixes
    /// them (see `commandLineError`) and set the exit code.
    public static func runFromCommandLine() {
        do { try run(arguments: nil) } catch { exit(withError: error) }
    }

    /// Runs `texfield ARGUMENTS…` in this process (nil: the process's own arguments); library
    /// errors come back with the flag that fixes them.
    public static func run(arguments: [String]?) throws {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            throw commandLineError(error)
        }
    }
}
