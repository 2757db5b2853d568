// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// An ERC-721: its `Transfer` logs have the ERC-20 event's signature but four topics (the token id is indexed),
/// which ERC-20 readers must skip.
contract Collectible is ERC721, Ownable {
    constructor() ERC721("Collectible", "CLT") Ownable(msg.sender) {}

    function mint(address to, uint256 tokenId) external onlyOwner {
        _mint(to, tokenId);
    }
}
