"""`tfmeta data prepare`: prepare a dataset once; later runs read the cache."""

from __future__ import annotations

from tfmeta.cli.options import data_arguments


def add_parsers(commands) -> None:
    data = commands.add_parser("data", help="dataset preparation")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    prepare = data_commands.add_parser("prepare", help="prepare a dataset once (later runs read the cache)")
    prepare.add_argument(
        "--dataset",
        choices=("omniglot", "mini_imagenet"),
        default="omniglot",
        help="default: omniglot; mini_imagenet needs your images, see docs/mini_imagenet.md",
    )
    data_arguments(prepare)


def cmd_data(args) -> int:
    from tfmeta.core import data_dirs
    from tfmeta.data import mini_imagenet, omniglot

    module = mini_imagenet if args.dataset == "mini_imagenet" else omniglot
    builder = module.prepare(args.data_dir, args.cache_dir)
    print(f"{args.dataset} is prepared in {builder.data_dir} (cache: {data_dirs.cache_dir(args.cache_dir)})")
    return 0


COMMANDS = {"data": cmd_data}
