// Random container names in Docker's adjective_noun form (berth's own word lists).
const ADJECTIVES = [
  'amber', 'brave', 'calm', 'clever', 'cosy', 'daring', 'eager', 'fancy', 'gentle', 'happy', 'humble', 'jolly',
  'keen', 'lively', 'lucid', 'merry', 'nimble', 'patient', 'plucky', 'quiet', 'rapid', 'sharp', 'steady', 'sunny',
  'swift', 'tidy', 'vivid', 'wise', 'witty', 'zesty',
];
const NOUNS = [
  'anchor', 'barge', 'beacon', 'buoy', 'cabin', 'capstan', 'cargo', 'compass', 'crane', 'dinghy', 'dock', 'ferry',
  'galley', 'harbor', 'hull', 'jetty', 'keel', 'lantern', 'mast', 'mooring', 'pier', 'pilot', 'quay', 'rudder',
  'schooner', 'sextant', 'skiff', 'tugboat', 'wharf', 'windlass',
];

export function randomName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const a = ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)];
    const n = NOUNS[Math.floor(Math.random() * NOUNS.length)];
    const name = i < 10 ? `${a}_${n}` : `${a}_${n}${Math.floor(Math.random() * 100)}`;
    if (!taken(name)) return name;
  }
}
