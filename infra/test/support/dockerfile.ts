import { DockerfileParser, ModifiableInstruction, type Instruction } from 'dockerfile-ast';
import { readText } from './repository';

export interface Stage {
  /** The `AS` name; unnamed stages get their index. */
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** A Dockerfile of the repository split into its build stages, in order. */
export function readStages(relativePath: string): Stage[] {
  const dockerfile = DockerfileParser.parse(readText(relativePath));
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image = '', , name] = instruction.getArguments().map((argument) => argument.getValue());
      stages.push({ name: name ?? String(stages.length), from: image, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The arguments after the flags. */
export const argumentsOf = (instruction: Instruction): string[] =>
  instruction.getArguments().map((argument) => argument.getValue());

/** The `--name=value` flags of COPY, RUN and the like, by name. */
export function flagsOf(instruction: Instruction): Record<string, string | null> {
  if (!(instruction instanceof ModifiableInstruction)) return {};
  return Object.fromEntries(instruction.getFlags().map((flag) => [flag.getName(), flag.getValue()]));
}

export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.getKeyword() === keyword);
}

/** The stage and every stage it is built `FROM`, nearest first. */
export function lineage(stages: readonly Stage[], name: string): Stage[] {
  const stage = stages.find((candidate) => candidate.name === name);
  return stage ? [stage, ...lineage(stages, stage.from)] : [];
}

/** A COPY source or RUN line with the build arguments (`$NAME`, `${NAME}`) put in; unknown ones stay as written. */
export const substituteArgs = (text: string, args: Record<string, string>): string =>
  text.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => args[name] ?? whole);
