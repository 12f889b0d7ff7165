import TexfieldCLI

TexfieldCommand.main()
