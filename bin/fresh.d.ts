export declare const ROOT: string;
export declare function compiledIsFresh(root?: string): boolean;
export declare function newestMtime(dir: string, skip?: (path: string) => boolean): number;
