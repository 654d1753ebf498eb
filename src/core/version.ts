/** The package's version, as package.json has it (a test keeps the two equal); exported models name it as their producer_version. */
export const VERSION = '0.1.0';
