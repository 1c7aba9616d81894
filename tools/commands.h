/*
 * commands.h — the `komposter` subcommands, one per cmd_*.c. Each takes the
 * shared options parsed so far and its own command line (argv[0] is its
 * name) and returns the process exit status (enum kp_exit).
 */
#ifndef KP_COMMANDS_H
#define KP_COMMANDS_H

#include "tools/cli.h"

int cmd_keygen(struct kp_cli *cli, int argc, char **argv);
int cmd_device(struct kp_cli *cli, int argc, char **argv);
int cmd_dump(struct kp_cli *cli, int argc, char **argv);
int cmd_stats(struct kp_cli *cli, int argc, char **argv);
int cmd_check(struct kp_cli *cli, int argc, char **argv);
int cmd_camera(struct kp_cli *cli, int argc, char **argv);
int cmd_gtfs(struct kp_cli *cli, int argc, char **argv);
int cmd_token(struct kp_cli *cli, int argc, char **argv);
int cmd_keys(struct kp_cli *cli, int argc, char **argv);
int cmd_export(struct kp_cli *cli, int argc, char **argv);
int cmd_verify(struct kp_cli *cli, int argc, char **argv);
int cmd_backup(struct kp_cli *cli, int argc, char **argv);
int cmd_partition(struct kp_cli *cli, int argc, char **argv);
/* `partition export` and `partition import` (cmd_handoff.c), under cmd_partition. */
int cmd_partition_export(struct kp_cli *cli, int argc, char **argv);
int cmd_partition_import(struct kp_cli *cli, int argc, char **argv);
int cmd_partial(struct kp_cli *cli, int argc, char **argv);
int cmd_merge(struct kp_cli *cli, int argc, char **argv);
int cmd_bench(struct kp_cli *cli, int argc, char **argv);

#endif
