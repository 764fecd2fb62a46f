"""`detlab data ...` end to end through the CLI entry point: exit codes and one-line errors."""
from __future__ import annotations

import json

from detlab.cli import main


def test_cli_synth_split_merge(tmp_path, capsys):
    src = tmp_path / 'dota'
    assert main(['data', 'synth', '--dataset', 'dota', '--out', str(src), '--images', '1',
                 '--seed', '2', '--min-size', '700', '--max-size', '800', '--quiet']) == 0
    meta = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert meta['dataset'] == 'dota' and meta['objects'] > 0
    assert main(['data', 'split', '--src', str(src), '--out', str(tmp_path / 'split'),
                 '--size', '400', '--gap', '100', '--quiet']) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['patches'] >= 4
    assert main(['data', 'synth', '--dataset', 'dota', '--out', str(src), '--images', '1',
                 '--quiet']) == 2
    err = capsys.readouterr().err.strip()
    assert err == f'detlab: error: {src}: already exists (complete); pass --overwrite to replace it'


def test_cli_bad_label_is_one_line(tmp_path, capsys):
    src = tmp_path / 'dota'
    main(['data', 'synth', '--dataset', 'dota', '--out', str(src), '--images', '1',
          '--min-size', '300', '--max-size', '300', '--quiet'])
    capsys.readouterr()
    label = src / 'labelTxt' / 'P0000.txt'
    label.write_text(label.read_text() + '1 2 3 4 5 6 7 8 plane zero\n')
    assert main(['data', 'split', '--src', str(src), '--out', str(tmp_path / 's'), '--quiet']) == 2
    err = capsys.readouterr().err
    lines = label.read_text().splitlines()
    assert err == f"detlab: error: {label}:{len(lines)}: difficult flag is 'zero', not 0, 1 or 2\n"
    assert not (tmp_path / 's').exists()
